/** How a slow reader (outbound buffer above `writeBufferSize`) is treated for a room's broadcasts. */
export type SlowConsumerPolicy = 'disconnect' | 'drop' | 'conflate';

/** Per-room behaviour, given by the `rooms` option (globally or per room id). */
export interface RoomSettings {
  /**
   * Send `presence_diff` to members when a user arrives or leaves, and answer `presence`.
   * Switch it off for huge rooms.
   * @default true
   */
  presence?: boolean;
  /**
   * Above this many members (on this node) `presence_diff` is no longer sent: every arrival
   * would be a frame to every member, so a join storm in a big room costs O(members²) frames.
   * `presence` (the state) is still answered.
   * @default 1000
   */
  presenceDiffLimit?: number;
  /**
   * What happens to a member that reads too slowly: `disconnect` (close 1013, the default),
   * `drop` (skip this broadcast for that reader: volatile messages), or `conflate` (keep only
   * the latest broadcast per conflation key for that reader and send it when it catches up:
   * tickers, cursors).
   * @default 'disconnect'
   */
  slowConsumer?: SlowConsumerPolicy;
  /**
   * How many of the room's latest broadcasts are kept for `resume` (0: none, a resuming client
   * is told `resume_failed` whenever it missed something). Memory is bounded by this times the
   * frame size per room with recent traffic; with a cluster the history lives in Redis.
   * @default 100
   */
  historySize?: number;
  /**
   * Milliseconds a broadcast stays replayable: older entries no longer count as history.
   * @default 300000 (5 minutes)
   */
  historyTtl?: number;
  /**
   * Bytes of the room's history (the frames as sent) kept at most, on this node and, with a
   * cluster, in Redis: the oldest entries go first. With the node-wide `history.maxBytes`, what
   * bounds history memory whatever the message sizes.
   * @default 1048576 (1 MiB)
   */
  historyMaxBytes?: number;
  /**
   * Keep history for the room while nobody on this node is (or recently was) in it, e.g. for
   * REST posts to a room clients join later and replay from its start. Off by default: a room's
   * broadcasts are kept while it has members here, and for `max(sessionTtl, 60 s)` after the last
   * one left (a dropped session may come back and `resume`), so that posts to rooms nobody joins
   * cost no memory. Numbering (`seq`) is the same either way.
   * @default false
   */
  historyWithoutMembers?: boolean;
}

export type ResolvedRoomSettings = Required<RoomSettings>;

export const DEFAULT_ROOM_SETTINGS: ResolvedRoomSettings = Object.freeze({
  presence: true,
  presenceDiffLimit: 1000,
  slowConsumer: 'disconnect',
  historySize: 100,
  historyTtl: 300_000,
  historyMaxBytes: 1024 * 1024,
  historyWithoutMembers: false,
});
