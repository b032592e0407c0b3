import type { ConnectedData, Envelope } from '../protocol/envelope.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import {
  AuthenticationError,
  ClientClosedError,
  ConnectionLostError,
  MalformedFrameError,
  RealtimeRequestError,
} from './client-errors.js';
import type { ClientEventHandler, ClientEventMap, ClientEventName, ClientState } from './client-events.js';
import { Heartbeat, type HeartbeatOptions } from './heartbeat.js';
import { ListenerSet } from './listener-set.js';
import type {
  AuthSuccessData,
  MessageHandler,
  ResumeFailedData,
  ResumeRequestData,
  RoomJoinedData,
  RoomLeftData,
} from './message-map.js';
import { OfflineQueue } from './offline-queue.js';
import { RequestTracker } from './request-tracker.js';
import { FrameVerdict, RoomPositions } from './room-positions.js';
import { TokenSource, tokenExpiry, type TokenOption } from './token-source.js';
import {
  type CloseEventLike,
  type MessageEventLike,
  resolveWebSocket,
  SOCKET_OPEN,
  type WebSocketConstructor,
  type WebSocketLike,
} from './transport.js';

/** Options of {@link RealtimeClient}. */
export interface RealtimeClientOptions {
  /** The endpoint, e.g. `wss://chat.example.com/ws`. */
  url: string;
  /**
   * The WebSocket implementation. @default `globalThis.WebSocket` (browsers; Node ≥ 22).
   * In Node 20 pass `WebSocket` from `ws`.
   */
  WebSocket?: WebSocketConstructor;
  /**
   * A token, or a function returning a fresh one: called on every (re)connect and shortly
   * before the current token's `exp`. Without it the client stays anonymous.
   */
  token?: TokenOption;
  /** Reconnect pacing, or `false` for no automatic reconnect. @default `{ baseDelay: 500, maxDelay: 30000 }`, forever */
  reconnect?: BackoffOptions | false;
  /** Default timeout of {@link RealtimeClient.request}, and of the client's own auth/resume/join. @default 10 000 ms */
  requestTimeout?: number;
  /** Messages kept while offline, sent once the connection is authenticated again. @default 100 */
  offlineQueueSize?: number;
  /** App-level ping/pong dead-connection detection, or `false`. @default `{ interval: 25000, timeout: 10000 }` */
  heartbeat?: HeartbeatOptions | false;
  /** A provided token is refreshed this long before its `exp`. @default 30 000 ms */
  tokenRefreshMargin?: number;
  /** Random source in [0, 1) for the backoff jitter (tests inject one). @default Math.random */
  random?: () => number;
}

/** Options of one {@link RealtimeClient.request}. */
export interface RequestOptions {
  /** @default the client's `requestTimeout` */
  timeout?: number;
}

type AnyMessageHandler = (data: unknown, envelope: Envelope) => void;
type AnyEventHandler = (event: never) => void;

const NORMAL_CLOSURE = 1000;
/** Not a close code on the wire: what browsers report when the TCP connection just went away. */
const ABNORMAL_CLOSURE = 1006;
/** The client's own close code (4000–4999 is for applications) when it gives up on a silent socket. */
const HEARTBEAT_TIMEOUT_CLOSE = 4000;
/** setTimeout fires at once for delays above 2³¹−1 ms; a refresh weeks away is clamped to this. */
const MAX_TIMER_DELAY = 2 ** 31 - 1;

/** Close codes after which retrying is wrong (PROTOCOL.md, "Errors"). */
function forbidsRetry(code: number): boolean {
  return code === 4003 || code === 1008;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The nest-realtime client, for browsers and Node: requests with replies, typed handlers,
 * automatic reconnect with backoff, re-authentication, resume of its rooms with exactly-once,
 * in-order delivery of room messages, and an offline queue.
 *
 * ```ts
 * const client = new RealtimeClient({ url: 'ws://localhost:3000/ws', token: () => fetchToken() });
 * client.on('chat_message', (msg) => render(msg.username, msg.content));
 * await client.connect();
 * await client.join('general');
 * client.chat('general', 'hello');
 * ```
 *
 * Lifecycle of one connection: socket open → `connected` → `auth` (when a token is set) →
 * `resume` of the previous session's rooms (or `join_room` again, with a `resume_failed`
 * event, when the server cannot resume) → the offline queue is flushed → `open`.
 * The token travels in the `auth` message, not in the URL, so it stays out of access logs.
 */
export class RealtimeClient {
  private readonly WebSocketImpl: WebSocketConstructor;
  private readonly requestTimeout: number;
  private readonly tokenRefreshMargin: number;
  private readonly backoff: Backoff | undefined;
  private readonly heartbeat: Heartbeat | undefined;
  private readonly tokens: TokenSource;
  private readonly tracker: RequestTracker;
  private readonly queue: OfflineQueue;
  private readonly rooms = new RoomPositions();
  private readonly messageHandlers: ListenerSet<AnyMessageHandler>;
  private readonly anyHandlers: AnyMessageHandler[] = [];
  private readonly eventHandlers: ListenerSet<AnyEventHandler>;

  private socket: WebSocketLike | undefined;
  private currentState: ClientState = 'idle';
  /** Authenticated, rooms restored, queue flushed: app frames go straight to the socket. */
  private ready = false;
  private handshakeStarted = false;
  private connection: ConnectedData | undefined;
  /** The session of the last connection that became ready: what the next one resumes. */
  private resumableSession: string | undefined;
  private authenticatedUser: AuthSuccessData | undefined;
  private reconnectCount = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private connectWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];

  constructor(private readonly options: RealtimeClientOptions) {
    if (typeof options.url !== 'string' || options.url === '') throw new TypeError('RealtimeClient: `url` is required');
    this.WebSocketImpl = resolveWebSocket(options.WebSocket);
    this.requestTimeout = options.requestTimeout ?? 10_000;
    this.tokenRefreshMargin = options.tokenRefreshMargin ?? 30_000;
    this.backoff = options.reconnect === false ? undefined : new Backoff(options.reconnect, options.random);
    this.heartbeat =
      options.heartbeat === false
        ? undefined
        : new Heartbeat(
            options.heartbeat ?? {},
            () => this.writeDirect('{"type":"ping"}'),
            () => this.abandonSocket(HEARTBEAT_TIMEOUT_CLOSE, 'heartbeat timeout'),
          );
    this.tokens = new TokenSource(options.token);
    this.tracker = new RequestTracker((id) => this.queue.removeRequest(id));
    this.queue = new OfflineQueue(options.offlineQueueSize ?? 100);
    const report = (error: unknown) => this.reportError(error);
    this.messageHandlers = new ListenerSet(report);
    this.eventHandlers = new ListenerSet((error) => {
      // An `error` handler that throws must not recurse into itself.
      if (typeof console !== 'undefined') console.error('nest-realtime client: an event handler threw', error);
    });
  }

  /** The connection state. */
  get state(): ClientState {
    return this.currentState;
  }

  /** The current connection's ids (`connected` frame), while connected. */
  get connectionInfo(): ConnectedData | undefined {
    return this.connection;
  }

  /** Who the server says this client is, after `auth_success`. */
  get user(): AuthSuccessData | undefined {
    return this.authenticatedUser;
  }

  /** Reconnections that reached `open` since {@link connect}. */
  get reconnects(): number {
    return this.reconnectCount;
  }

  /** Rooms the client is in (re-joined or resumed after a reconnect). */
  get joinedRooms(): string[] {
    return this.rooms.roomIds();
  }

  /** Messages waiting in the offline queue. */
  get queuedMessages(): number {
    return this.queue.size;
  }

  /**
   * Connects (and keeps reconnecting unless told otherwise). Resolves when the client is
   * `open`; rejects if it closes for good first (e.g. the token is refused).
   */
  connect(): Promise<void> {
    if (this.currentState === 'open') return Promise.resolve();
    const ready = new Promise<void>((resolve, reject) => this.connectWaiters.push({ resolve, reject }));
    if (this.currentState === 'idle' || this.currentState === 'closed') {
      this.backoff?.reset();
      this.reconnectCount = 0;
      this.setState('connecting');
      this.openSocket(0);
    }
    return ready;
  }

  /**
   * Closes the connection and stops reconnecting. Pending requests and queued messages are
   * rejected with {@link ClientClosedError}; rooms are forgotten. Resolves when the socket has
   * closed.
   */
  disconnect(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    this.stopTimers();
    this.ready = false;
    this.connection = undefined;
    this.resumableSession = undefined;
    this.authenticatedUser = undefined;
    this.rooms.clear();
    this.queue.drain();
    this.tracker.rejectAll((type) => new ClientClosedError(type));
    const closed = socket ? this.closeSocket(socket, NORMAL_CLOSURE, 'client disconnect') : Promise.resolve();
    if (this.currentState !== 'closed' && this.currentState !== 'idle') {
      this.finish(NORMAL_CLOSURE, 'client disconnect');
    }
    return closed;
  }

  /**
   * Authenticates as another token (or token provider), which is then also used on every
   * reconnect. Connects first when the client is not connected.
   */
  async auth(token: TokenOption): Promise<AuthSuccessData> {
    this.tokens.set(token);
    if (!this.ready) {
      await this.connect();
      return this.authenticatedUser as AuthSuccessData;
    }
    return this.authenticate();
  }

  /** Joins a room; resolves with `room_joined`. The room is re-joined (resumed) after reconnects. */
  async join(roomId: string, options?: RequestOptions): Promise<RoomJoinedData> {
    const reply = await this.request('join_room', { room_id: roomId }, options);
    return reply.data as RoomJoinedData;
  }

  /** Leaves a room; resolves with `room_left`. */
  async leave(roomId: string, options?: RequestOptions): Promise<RoomLeftData> {
    const reply = await this.request('leave_room', { room_id: roomId }, options);
    return reply.data as RoomLeftData;
  }

  /** Sends a chat message to a room the client is in (it comes back as `chat_message`). */
  chat(roomId: string, content: string): void {
    this.send('chat', { room_id: roomId, content });
  }

  /** Sends a private message to every connection of `userId` (an `error USER_OFFLINE` if none). */
  privateMessage(userId: string, content: string): void {
    this.send('private_message', { target_user_id: userId, content });
  }

  /**
   * Sends a message without waiting for a reply. While the client is not open it is queued
   * (throws {@link OfflineQueueFullError} when the queue is full, {@link ClientClosedError}
   * after {@link disconnect}).
   */
  send(type: string, data?: unknown): void {
    this.dispatchOutbound(JSON.stringify({ type, data }), type, undefined);
  }

  /**
   * Sends a message with a fresh `id` and resolves with the reply carrying that id. Rejects
   * with {@link RealtimeRequestError} on an error frame, {@link RequestTimeoutError} when no
   * reply comes in time (the time in the offline queue counts), {@link ConnectionLostError}
   * when the connection drops after it was sent.
   */
  request<TReply = unknown>(type: string, data?: unknown, options: RequestOptions = {}): Promise<Envelope<TReply>> {
    const id = this.tracker.nextId();
    const reply = this.tracker.track(id, type, options.timeout ?? this.requestTimeout);
    try {
      this.dispatchOutbound(JSON.stringify({ type, id, data }), type, id);
    } catch (error) {
      this.tracker.fail(id, error as Error);
    }
    return reply as Promise<Envelope<TReply>>;
  }

  /** Handles frames of `type` (typed payloads for the built-ins). Returns the unsubscribe function. */
  on<T extends string>(type: T, handler: MessageHandler<T>): () => void {
    return this.messageHandlers.add(type, handler as AnyMessageHandler);
  }

  /** Handles every frame the client delivers (after de-duplication), in order. */
  onAny(handler: (data: unknown, envelope: Envelope) => void): () => void {
    this.anyHandlers.push(handler);
    return () => {
      const index = this.anyHandlers.indexOf(handler);
      if (index !== -1) this.anyHandlers.splice(index, 1);
    };
  }

  /** Handles one of the client's own events (`open`, `reconnecting`, `resume_failed`, ...). */
  onEvent<E extends ClientEventName>(event: E, handler: ClientEventHandler<E>): () => void {
    return this.eventHandlers.add(event, handler as AnyEventHandler);
  }

  // ---- outbound ----

  private dispatchOutbound(text: string, type: string, requestId: string | undefined): void {
    if (this.ready && this.socket?.readyState === SOCKET_OPEN) {
      this.socket.send(text);
      if (requestId !== undefined) this.tracker.markSent(requestId);
      return;
    }
    if (this.currentState === 'closed') throw new ClientClosedError(type);
    this.queue.push(text, type, requestId);
  }

  /** Writes to the current socket, bypassing the queue (the client's own handshake traffic). */
  private writeDirect(text: string): boolean {
    const socket = this.socket;
    if (socket?.readyState !== SOCKET_OPEN) return false;
    socket.send(text);
    return true;
  }

  /** A request of the client's own on the current socket (auth, resume, join_room). */
  private internalRequest(type: string, data: unknown): Promise<Envelope> {
    const id = this.tracker.nextId();
    const reply = this.tracker.track(id, type, this.requestTimeout);
    this.tracker.markSent(id);
    if (!this.writeDirect(JSON.stringify({ type, id, data }))) this.tracker.fail(id, new ConnectionLostError(type));
    return reply;
  }

  private flushQueue(): void {
    for (const frame of this.queue.drain()) {
      this.socket?.send(frame.text);
      if (frame.requestId !== undefined) this.tracker.markSent(frame.requestId);
    }
  }

  // ---- connection lifecycle ----

  private openSocket(attempt: number): void {
    this.reconnectTimer = undefined;
    this.handshakeStarted = false;
    this.connection = undefined;
    this.emit('connecting', { attempt });
    let socket: WebSocketLike;
    try {
      socket = new this.WebSocketImpl(this.options.url);
    } catch (error) {
      // A URL the implementation refuses will never work: no point retrying.
      this.reportError(error);
      this.finish(ABNORMAL_CLOSURE, 'invalid url');
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      if (this.socket === socket) this.heartbeat?.start(Date.now());
    };
    socket.onmessage = (event: MessageEventLike) => {
      if (this.socket === socket) this.receive(event.data);
    };
    socket.onclose = (event: CloseEventLike) => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.connectionLost(event.code, event.reason);
    };
    // An error event is always followed by a close event, which does the work.
    socket.onerror = () => undefined;
  }

  /** Gives up on a socket that stopped answering: drop it now rather than wait for TCP to notice. */
  private abandonSocket(code: number, reason: string): void {
    const socket = this.socket;
    if (!socket) return;
    this.socket = undefined;
    void this.closeSocket(socket, code, reason);
    this.connectionLost(ABNORMAL_CLOSURE, reason);
  }

  /** Detaches the client from `socket` and closes it; resolves when it has closed. */
  private closeSocket(socket: WebSocketLike, code: number, reason: string): Promise<void> {
    socket.onmessage = null;
    socket.onopen = null;
    socket.onerror = () => undefined;
    return new Promise((resolve) => {
      if (socket.readyState === 3) return resolve();
      socket.onclose = () => resolve();
      try {
        socket.close(code, reason);
      } catch {
        resolve();
      }
    });
  }

  private connectionLost(code: number, reason: string): void {
    this.stopTimers();
    this.ready = false;
    this.connection = undefined;
    this.tracker.rejectOnTheWire();
    if (forbidsRetry(code)) return this.finish(code, reason);
    // 4001: the token expired. Retrying makes sense only with a provider for a fresh one.
    if (code === 4001 && !this.tokens.canRefresh) return this.finish(code, reason);
    if (!this.backoff) return this.finish(code, reason);
    if (!this.backoff.canRetry) {
      this.reportError(new Error(`gave up reconnecting after ${this.backoff.attempts} attempts`));
      return this.finish(code, reason);
    }
    // 1012 is a planned restart or drain: another node is ready now, so no waiting.
    const delay = code === 1012 ? 0 : this.backoff.next();
    const attempt = this.backoff.attempts;
    this.setState('reconnecting');
    this.emit('reconnecting', { attempt, delay, code, reason });
    this.reconnectTimer = setTimeout(() => this.openSocket(attempt), delay);
  }

  /** Closed for good: reject whoever waits for `open`, drop the queue. */
  private finish(code: number, reason: string): void {
    this.stopTimers();
    this.ready = false;
    if (this.socket) {
      void this.closeSocket(this.socket, NORMAL_CLOSURE, reason);
      this.socket = undefined;
    }
    this.tracker.rejectAll((type) => new ClientClosedError(type));
    this.queue.drain();
    this.setState('closed');
    this.emit('closed', { code, reason });
    const waiters = this.connectWaiters;
    this.connectWaiters = [];
    for (const waiter of waiters) waiter.reject(new Error(`connection closed (${code}${reason ? `: ${reason}` : ''})`));
  }

  private stopTimers(): void {
    this.heartbeat?.stop();
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    if (this.refreshTimer !== undefined) clearTimeout(this.refreshTimer);
    this.reconnectTimer = undefined;
    this.refreshTimer = undefined;
  }

  /** After `connected`: authenticate, restore rooms, flush, and declare the client open. */
  private async handshake(socket: WebSocketLike): Promise<void> {
    try {
      if (this.tokens.configured) await this.authenticate();
      if (this.socket !== socket) return;
      await this.restoreRooms();
      if (this.socket !== socket) return;
    } catch (error) {
      if (this.socket !== socket) return;
      if (error instanceof AuthenticationError) {
        // The same credentials will be refused again: stop instead of hammering the server.
        this.reportError(error);
        return this.finish(NORMAL_CLOSURE, 'authentication failed');
      }
      // A timeout or a lost connection mid-handshake: start over on a new socket.
      return this.abandonSocket(NORMAL_CLOSURE, 'handshake failed');
    }
    this.ready = true;
    this.resumableSession = this.connection?.session_id;
    const reconnected = this.currentState === 'reconnecting';
    if (reconnected) this.reconnectCount++;
    this.backoff?.reset();
    this.flushQueue();
    this.setState('open');
    const info = this.connection;
    this.emit('open', {
      client_id: info?.client_id ?? '',
      session_id: info?.session_id ?? '',
      node_id: info?.node_id ?? '',
      reconnects: this.reconnectCount,
    });
    const waiters = this.connectWaiters;
    this.connectWaiters = [];
    for (const waiter of waiters) waiter.resolve();
  }

  /** Sends `auth` with the current (or a freshly provided) token and schedules the next refresh. */
  private async authenticate(): Promise<AuthSuccessData> {
    let token: string | undefined;
    try {
      token = await this.tokens.get();
    } catch (error) {
      throw new AuthenticationError(`the token provider failed: ${(error as Error)?.message ?? String(error)}`);
    }
    if (token === undefined) throw new AuthenticationError('no token');
    let reply: Envelope;
    try {
      reply = await this.internalRequest('auth', { token });
    } catch (error) {
      if (error instanceof RealtimeRequestError) throw new AuthenticationError(`token refused: ${error.message}`);
      throw error;
    }
    this.authenticatedUser = reply.data as AuthSuccessData;
    this.scheduleRefresh(token);
    return this.authenticatedUser;
  }

  /**
   * With a token provider, re-authenticates before the token's `exp` so the server never has
   * to send `TOKEN_EXPIRED`: `tokenRefreshMargin` early, or halfway for short-lived tokens.
   */
  private scheduleRefresh(token: string): void {
    if (this.refreshTimer !== undefined) clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    const expiry = tokenExpiry(token);
    if (!this.tokens.canRefresh || expiry === undefined) return;
    const remaining = expiry - Date.now();
    if (remaining <= 0) return;
    const delay = remaining > 2 * this.tokenRefreshMargin ? remaining - this.tokenRefreshMargin : remaining / 2;
    this.refreshTimer = setTimeout(() => this.refreshAuth(), Math.min(delay, MAX_TIMER_DELAY));
  }

  private refreshAuth(): void {
    this.refreshTimer = undefined;
    if (!this.tokens.canRefresh || !this.socket) return;
    // A failure is reported; if the token then expires, the server closes with 4001 and the
    // reconnect asks the provider again.
    this.authenticate().catch((error: unknown) => this.reportError(error));
  }

  /**
   * Restores the rooms after a reconnect: `resume` from the last seen positions when possible;
   * otherwise (server without resume, session refused, position unknown) `join_room` again and
   * tell the app with `resume_failed` that it may have missed messages.
   */
  private async restoreRooms(): Promise<void> {
    if (this.rooms.size === 0) return;
    const positions = this.rooms.resumable();
    const resumable = Object.keys(positions);
    const rejoins: Promise<void>[] = this.rooms.unpositioned().map((room) => this.rejoin(room, 'position_unknown'));
    if (resumable.length > 0 && this.resumableSession !== undefined) {
      const request: ResumeRequestData = { session_id: this.resumableSession, rooms: positions };
      try {
        // `resumed` is followed by the missed frames and `resume_failed` for rooms that could
        // not be resumed; receive() handles those as they come.
        await this.internalRequest('resume', request);
      } catch (error) {
        if (!(error instanceof RealtimeRequestError)) throw error;
        const reason = error.code === 'UNKNOWN_TYPE' ? 'resume_unsupported' : 'resume_refused';
        for (const room of resumable) rejoins.push(this.rejoin(room, reason));
      }
    } else {
      for (const room of resumable) rejoins.push(this.rejoin(room, 'no_session'));
    }
    await Promise.all(rejoins);
  }

  private async rejoin(roomId: string, reason: string): Promise<void> {
    try {
      // room_joined (handled in receive()) sets the room's new position.
      await this.internalRequest('join_room', { room_id: roomId });
    } catch (error) {
      if (!(error instanceof RealtimeRequestError)) throw error;
      // Refused now (e.g. the policy changed): the app is no longer in the room.
      this.rooms.delete(roomId);
      this.reportError(error);
    }
    const position = this.rooms.position(roomId);
    this.emit('resume_failed', { room_id: roomId, reason, seq: position?.seq, epoch: position?.epoch });
  }

  // ---- inbound ----

  private receive(raw: unknown): void {
    this.heartbeat?.received(Date.now());
    if (typeof raw !== 'string') return this.reportError(new MalformedFrameError('not a text frame'));
    let frame: Envelope;
    try {
      frame = JSON.parse(raw) as Envelope;
    } catch {
      return this.reportError(new MalformedFrameError('not JSON'));
    }
    if (!isRecord(frame) || typeof frame.type !== 'string') {
      return this.reportError(new MalformedFrameError('not an envelope with a "type"'));
    }
    if (typeof frame.seq === 'number' && typeof frame.room === 'string' && typeof frame.epoch === 'string') {
      const verdict = this.rooms.accept(frame.room, frame.seq, frame.epoch);
      if (verdict === FrameVerdict.DUPLICATE) return;
      if (verdict === FrameVerdict.NEW_EPOCH) {
        this.emit('resume_failed', { room_id: frame.room, reason: 'epoch_changed', epoch: frame.epoch });
      }
    }
    this.track(frame);
    this.tracker.settle(frame);
    this.messageHandlers.emit(frame.type, frame.data, frame);
    for (let i = 0; i < this.anyHandlers.length; i++) {
      try {
        this.anyHandlers[i](frame.data, frame);
      } catch (error) {
        this.reportError(error);
      }
    }
  }

  /** The client's own bookkeeping for the frames that change its state. */
  private track(frame: Envelope): void {
    const data = frame.data;
    switch (frame.type) {
      case 'connected':
        if (this.handshakeStarted || !isRecord(data) || typeof data.session_id !== 'string') return;
        this.handshakeStarted = true;
        this.connection = data as unknown as ConnectedData;
        if (this.socket) void this.handshake(this.socket);
        return;
      case 'room_joined':
        if (isRecord(data) && typeof data.room_id === 'string') {
          const seq = Number.isSafeInteger(data.seq) ? (data.seq as number) : undefined;
          this.rooms.set(data.room_id, seq, typeof data.epoch === 'string' ? data.epoch : undefined);
        }
        return;
      case 'room_left':
        if (isRecord(data) && typeof data.room_id === 'string') this.rooms.delete(data.room_id);
        return;
      case 'resume_failed':
        if (isRecord(data) && typeof data.room_id === 'string') {
          const seq = Number.isSafeInteger(data.seq) ? (data.seq as number) : undefined;
          const epoch = typeof data.epoch === 'string' ? data.epoch : undefined;
          this.rooms.set(data.room_id, seq, epoch);
          const event: ResumeFailedData = {
            room_id: data.room_id,
            reason: typeof data.reason === 'string' ? data.reason : 'unknown',
            seq,
            epoch,
          };
          this.emit('resume_failed', event);
        }
        return;
      case 'error':
        // The server warns at `exp`; a provider can fix it before the 4001 close.
        if (isRecord(data) && data.code === 'TOKEN_EXPIRED' && frame.id === undefined) this.refreshAuth();
        return;
    }
  }

  // ---- events ----

  private setState(state: ClientState): void {
    this.currentState = state;
  }

  private emit<E extends ClientEventName>(event: E, payload: ClientEventMap[E]): void {
    this.eventHandlers.emit(event, payload as never);
  }

  private reportError(error: unknown): void {
    this.emit('error', { error: error instanceof Error ? error : new Error(String(error)) });
  }
}
