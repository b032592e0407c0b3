import WebSocket from 'ws';
import { hsToken } from './tokens.js';

/**
 * A lean real `ws` member of one room that keeps its own view of the room's presence, as a
 * client should (PROTOCOL.md, presence): `presence_state` (asked right after `room_joined`) sets
 * it, then the `presence_diff`s received between the request and that reply are applied again
 * (in a cluster the state may have been read before a change whose diff arrived first; Phoenix's
 * client does the same), then every later diff as it comes — all as set operations (a join adds,
 * a leave removes). Counts the presence frames it received; keeps no frames (a storm test has
 * hundreds of thousands of them).
 */
export class PresenceViewClient {
  readonly view = new Set<string>();
  diffs = 0;
  /** The users listed over those diffs (each listed change: one frame each without gathering). */
  listed = 0;
  resets = 0;
  /** Whether `presence_state` has arrived (diffs count only after it). */
  synced = false;
  private readonly socket: WebSocket;
  private joinedResolve!: () => void;
  readonly joined = new Promise<void>((resolve) => (this.joinedResolve = resolve));
  private syncedResolve: (() => void) | undefined;
  /** Diffs received while a `presence` request is under way. */
  private readonly pending: DiffData[] = [];

  private constructor(
    url: string,
    readonly userId: string,
    private readonly roomId: string,
  ) {
    this.socket = new WebSocket(`${url}?token=${hsToken({ user_id: userId })}`);
    this.socket.on('error', () => undefined);
    this.socket.on('message', (raw) => this.receive(JSON.parse(raw.toString()) as Frame));
  }

  /** Connects as `userId`, joins `roomId` and asks its presence; resolves once joined. */
  static async join(url: string, userId: string, roomId: string): Promise<PresenceViewClient> {
    const client = new PresenceViewClient(url, userId, roomId);
    await client.joined;
    return client;
  }

  /** Asks `presence` again (after a `presence_reset`); resolves when the state has arrived. */
  resync(): Promise<void> {
    this.synced = false;
    const synced = new Promise<void>((resolve) => (this.syncedResolve = resolve));
    this.send('presence', 'resync');
    return synced;
  }

  leave(): void {
    this.send('leave_room', 'leave');
  }

  close(): void {
    this.socket.terminate();
  }

  private apply(diff: DiffData): void {
    for (const user of diff.joins) this.view.add(user.user_id);
    for (const user of diff.leaves) this.view.delete(user.user_id);
  }

  private send(type: string, id: string): void {
    this.socket.send(JSON.stringify({ type, id, data: { room_id: this.roomId } }));
  }

  private receive(frame: Frame): void {
    switch (frame.type) {
      case 'auth_success':
        this.send('join_room', 'join');
        break;
      case 'room_joined':
        this.send('presence', 'state');
        this.joinedResolve();
        break;
      case 'presence_state':
        this.view.clear();
        for (const user of frame.data.users as { user_id: string }[]) this.view.add(user.user_id);
        for (const diff of this.pending.splice(0)) this.apply(diff);
        this.synced = true;
        this.syncedResolve?.();
        break;
      case 'presence_diff':
        this.diffs++;
        this.listed += (frame.data.joins as unknown[]).length + (frame.data.leaves as unknown[]).length;
        if (this.synced) this.apply(frame.data as unknown as DiffData);
        else this.pending.push(frame.data as unknown as DiffData);
        break;
      case 'presence_reset':
        this.resets++;
        break;
      case 'error':
        throw new Error(`${this.userId}: ${JSON.stringify(frame.data)}`);
    }
  }
}

interface DiffData {
  joins: { user_id: string }[];
  leaves: { user_id: string }[];
}

interface Frame {
  type: string;
  data: Record<string, unknown>;
}
