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
   * Up to this many members (on this node) each user's arrival or departure is a `presence_diff`
   * of its own, sent at once. Above it (or while a window is open) the changes are gathered for
   * `presenceDiffInterval` and sent as one `presence_diff` per window: one frame per member per
   * window instead of one per change, so a join storm into a big room costs O(members) frames per
   * window, not O(members²).
   * @default 1000
   */
  presenceDiffLimit?: number;
  /**
   * Milliseconds over which a room above `presenceDiffLimit` gathers its presence changes into
   * one `presence_diff`.
   * @default 1000
   */
  presenceDiffInterval?: number;
  /**
   * Most users one gathered `presence_diff` lists: a window with more changes sends
   * `presence_reset { room_id, joins, leaves }` (counts only) instead, so that a storm costs each
   * member a bounded frame per window; a client that needs the list asks `presence` again.
   * @default 100
   */
  presenceDiffMaxUsers?: number;
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
   * Bytes of the room's history (the frames as sent; on this node, with the compressed twins
   * made for `compression`) kept at most, on this node and, with a
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
  presenceDiffInterval: 1000,
  presenceDiffMaxUsers: 100,
  slowConsumer: 'disconnect',
  historySize: 100,
  historyTtl: 300_000,
  historyMaxBytes: 1024 * 1024,
  historyWithoutMembers: false,
});
