/**
 * The part of a room's settings that history reads. Declared here rather than imported from
 * rooms/ so that history sits below rooms: a room's resolved settings fit this shape as they are.
 */
export interface HistorySettings {
  /** Entries kept for replay (0: none). */
  readonly historySize: number;
  /** Milliseconds an entry stays replayable. */
  readonly historyTtl: number;
  /** Bytes of the room's history kept at most. */
  readonly historyMaxBytes: number;
  /** Whether history is kept while nobody on this node is (or recently was) in the room. */
  readonly historyWithoutMembers: boolean;
}
