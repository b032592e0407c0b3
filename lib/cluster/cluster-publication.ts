/**
 * The cluster's publication format: what one node publishes for the others, whatever carries it.
 *
 * A publication is header lines then a frame, joined by `\n`:
 * `kind [trace] \n origin node \n [except connection \n] frame`. The kind says what the frame is for:
 *
 * - `R` a room frame (sequenced; header: except), `P` a room's `presence_diff` (header: except);
 * - `U` a frame for a user's connections, `A` a frame for every connection, `K` a kick
 *   (`{"user_id","reason"}` as JSON, never header lines: a user id may hold the separator).
 *
 * The frame is last so that it may hold the separator itself: it is everything after the header.
 *
 * A room frame published under a span carries that span's trace context right after its kind
 * letter, as a JSON object of strings (`R{"traceparent":"00-…"}`; JSON escapes line breaks, so
 * it never holds the separator). Untraced, the line is the letter alone, byte for byte what
 * nodes published before traces existed. Every version reads the kind from the first character
 * and the other fields from the lines after the first, so a node of an older version takes a
 * traced publication as it always did and ignores the context (a rolling upgrade loses links,
 * never frames).
 */
const SEPARATOR = '\n';

/** What a publication is for (see the file comment). */
export type PublicationKind = 'R' | 'P' | 'U' | 'A' | 'K';

/**
 * The header of a room (`R`) or presence (`P`) publication, to which the frame is appended;
 * `trace`: the publishing span's context (JSON), for a room frame.
 */
export function roomHeader(
  kind: 'R' | 'P',
  nodeId: string,
  exceptConnectionId: string | undefined,
  trace?: string,
): string {
  return kind + (trace ?? '') + SEPARATOR + nodeId + SEPARATOR + (exceptConnectionId ?? '') + SEPARATOR;
}

/** A user (`U`), announcement (`A`) or kick (`K`) publication. */
export function nodePublication(kind: 'U' | 'A' | 'K', nodeId: string, frame: string): string {
  return kind + SEPARATOR + nodeId + SEPARATOR + frame;
}

/** The frame of a kick publication. */
export function kickFrame(userId: string, reason: string): string {
  return JSON.stringify({ user_id: userId, reason });
}

/** A publication taken apart (nothing checked yet but its shape). */
export interface Publication {
  kind: string;
  origin: string;
  /** `R`/`P` only: the connection that does not get the frame. */
  except: string | undefined;
  /** The publishing span's trace context (JSON, unchecked), when the first line holds one. */
  trace: string | undefined;
  frame: string;
}

/** Splits a publication into its header fields and its frame. */
export function parsePublication(message: string): Publication {
  const parts = message.split(SEPARATOR);
  const kind = message[0];
  const trace = parts[0].length > 1 ? parts[0].slice(1) : undefined;
  if (kind === 'R' || kind === 'P') {
    return { kind, origin: parts[1], except: parts[2] || undefined, trace, frame: parts.slice(3).join(SEPARATOR) };
  }
  return { kind, origin: parts[1], except: undefined, trace, frame: parts.slice(2).join(SEPARATOR) };
}
