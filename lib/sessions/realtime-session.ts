import type { RealtimeConnection } from '../connections/realtime-connection.js';

/**
 * A session: what a client is doing (its rooms, its metadata) independently of the connection
 * that carries it right now. It outlives a dropped connection for `sessionTtl`, so that a client
 * that reconnects can resume it.
 */
export class RealtimeSession {
  /** The connection currently attached, if any. */
  connection: RealtimeConnection | undefined = undefined;
  /** User the session belongs to (set when its connection authenticates). */
  userId: string | undefined = undefined;
  /** Epoch ms at which the last connection detached; 0 while attached. */
  detachedAt = 0;
  /** Rooms of the session, created on the first join. */
  private roomSet: Set<string> | undefined = undefined;
  private metadataStore: Map<string, unknown> | undefined = undefined;

  constructor(
    readonly id: string,
    readonly createdAt: number,
  ) {}

  get rooms(): ReadonlySet<string> {
    return this.roomSet ?? NO_ROOMS;
  }

  /** @internal */
  addRoom(roomId: string): void {
    (this.roomSet ??= new Set()).add(roomId);
  }

  /** @internal */
  removeRoom(roomId: string): void {
    this.roomSet?.delete(roomId);
    if (this.roomSet?.size === 0) this.roomSet = undefined;
  }

  getMetadata<T = unknown>(key: string): T | undefined {
    return this.metadataStore?.get(key) as T | undefined;
  }

  setMetadata(key: string, value: unknown): void {
    (this.metadataStore ??= new Map()).set(key, value);
  }

  metadata(): Record<string, unknown> {
    return this.metadataStore ? Object.fromEntries(this.metadataStore) : {};
  }
}

const NO_ROOMS: ReadonlySet<string> = new Set<string>();
