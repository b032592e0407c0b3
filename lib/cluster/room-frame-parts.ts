/** A place in a room's sequence: its `seq` (gap-free from 1) under an `epoch`. */
export interface Sequenced {
  seq: number;
  epoch: string;
}

/** A room frame cut around the two values only the cluster knows: `prefix + seq + middle + epoch + suffix`. */
export interface RoomFrameParts {
  prefix: string;
  middle: string;
  suffix: string;
}

/**
 * Serializes a room broadcast once, as the parts around `seq` and `epoch`, which only the cluster
 * can fill in. Used by every publisher (nodes and the emitter) so that all frames have one shape.
 */
export function roomFrameParts(roomId: string, type: string, data: unknown, timestamp: string): RoomFrameParts {
  // As JSON.stringify of a whole envelope: data it cannot represent (a function) is left out.
  const json = data === undefined ? undefined : (JSON.stringify(data) as string | undefined);
  const body = json === undefined ? '' : `,"data":${json}`;
  return {
    prefix: `{"type":${JSON.stringify(type)},"room":${JSON.stringify(roomId)},"seq":`,
    middle: ',"epoch":"',
    suffix: `"${body},"timestamp":"${timestamp}"}`,
  };
}

/** The text of a room frame at its place in the sequence. */
export function roomFrameText(parts: RoomFrameParts, seq: number, epoch: string): string {
  return parts.prefix + seq + parts.middle + epoch + parts.suffix;
}
