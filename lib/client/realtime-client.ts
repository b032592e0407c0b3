import { CloseReason } from '../protocol/close-codes.js';
import type { ConnectedData, Envelope } from '../protocol/envelope.js';
import { Backoff } from './backoff.js';
import { DrainDelay } from './drain-delay.js';
import {
  AuthenticationError,
  ClientClosedError,
  ConnectionLostError,
  RealtimeRequestError,
  RequestTimeoutError,
  TokenProviderError,
} from './client-errors.js';
import type { ClientEventHandler, ClientEventMap, ClientEventName, ClientState } from './client-events.js';
import { CLIENT_DEFAULTS, positiveMs, type RealtimeClientOptions, type RequestOptions } from './client-options.js';
import { Heartbeat } from './heartbeat.js';
import { ListenerSet } from './listener-set.js';
import type { AuthSuccessData, MessageHandler, Reply, RoomJoinedData, RoomLeftData } from './message-map.js';
import { OfflineQueue } from './offline-queue.js';
import { PatientTimer } from './patient-timer.js';
import { isRecord, parseFrame, readPosition } from './parse-frame.js';
import { RequestTracker, type TrackOptions } from './request-tracker.js';
import { FrameVerdict, RoomPositions } from './room-positions.js';
import { RoomRestorer } from './room-restorer.js';
import { TokenRefresher } from './token-refresher.js';
import { type TokenOption, TokenSource } from './token-source.js';
import {
  type CloseEventLike,
  detachAndClose,
  type MessageEventLike,
  resolveWebSocket,
  SOCKET_OPEN,
  type WebSocketConstructor,
  type WebSocketLike,
} from './transport.js';

export type { RealtimeClientOptions, RequestOptions } from './client-options.js';

const NORMAL_CLOSURE = 1000;
/** Not a close code on the wire: what browsers report when the TCP connection just went away. */
const ABNORMAL_CLOSURE = 1006;
/** The client's own close code (4000–4999 is for applications) when it gives up on a socket. */
const CLIENT_GAVE_UP = 4000;
const PING_FRAME = '{"type":"ping"}';

/** Close codes after which retrying is wrong (PROTOCOL.md, "Errors"): kicked, policy violation. */
function forbidsRetry(code: number): boolean {
  return code === 4003 || code === 1008;
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
 * await client.chat('general', 'hello');
 * ```
 *
 * Lifecycle of one connection: socket open → `connected` → `auth` (when a token is set) →
 * rooms restored ({@link RoomRestorer}) → the offline queue is flushed → `open`. The token
 * travels in the `auth` message, not in the URL, so it stays out of access logs.
 */
export class RealtimeClient {
  private readonly WebSocketImpl: WebSocketConstructor;
  private readonly requestTimeout: number;
  private readonly connectTimeout: number;
  private readonly tokenTimeout: number;
  private readonly stableConnectionTime: number;
  private readonly backoff: Backoff | undefined;
  private readonly drainDelay: DrainDelay;
  private readonly heartbeat: Heartbeat | undefined;
  private readonly tokens: TokenSource;
  private readonly refresher: TokenRefresher;
  private readonly tracker: RequestTracker;
  private readonly queue: OfflineQueue;
  private readonly rooms = new RoomPositions();
  private readonly restorer: RoomRestorer;
  private readonly messageHandlers: ListenerSet<unknown, Envelope>;
  private readonly anyHandlers: ListenerSet<unknown, Envelope>;
  private readonly eventHandlers: ListenerSet<never>;

  private socket: WebSocketLike | undefined;
  private currentState: ClientState = 'idle';
  /** Authenticated, rooms restored, queue flushed: app frames go straight to the socket. */
  private ready = false;
  private handshakeStarted = false;
  private connection: ConnectedData | undefined;
  /** The session of the last connection that became ready: what the next one resumes. */
  private resumableSession: string | undefined;
  private authenticatedUser: AuthSuccessData | undefined;
  private hasBeenOpen = false;
  private reconnectCount = 0;
  /** When the current connection became ready (`Date.now()`), or undefined while it is not. */
  private readySince: number | undefined;
  /** The pending reconnect. */
  private timer: ReturnType<typeof setTimeout> | undefined;
  /**
   * The deadline of a connection attempt, until `connected`. Patient: a `connected` frame left
   * unread by a stall of this client's event loop is read before the attempt is given up.
   */
  private readonly connectDeadline = new PatientTimer(() => {
    this.slowAttemptsInARow++;
    this.abandonSocket('connect timeout');
  });
  /**
   * Attempts in a row given up for a deadline (no `connected`, or no answer to the handshake's
   * `auth`/`resume`/`join_room`, in time): the next attempt's deadlines are twice as long, up to
   * 8 × (see {@link patience}).
   */
  private slowAttemptsInARow = 0;
  private connectWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];

  constructor(private readonly options: RealtimeClientOptions) {
    if (typeof options.url !== 'function' && (typeof options.url !== 'string' || options.url === '')) {
      throw new TypeError('RealtimeClient: `url` is required');
    }
    this.WebSocketImpl = resolveWebSocket(options.WebSocket);
    this.requestTimeout = positiveMs('requestTimeout', options.requestTimeout ?? CLIENT_DEFAULTS.requestTimeout);
    this.connectTimeout = positiveMs('connectTimeout', options.connectTimeout ?? CLIENT_DEFAULTS.connectTimeout);
    this.tokenTimeout = positiveMs('tokenTimeout', options.tokenTimeout ?? CLIENT_DEFAULTS.tokenTimeout);
    this.stableConnectionTime = positiveMs(
      'stableConnectionTime',
      options.stableConnectionTime ?? CLIENT_DEFAULTS.stableConnectionTime,
    );
    this.backoff = options.reconnect === false ? undefined : new Backoff(options.reconnect, options.random);
    this.drainDelay = new DrainDelay(options.drainReconnect, options.random);
    this.heartbeat =
      options.heartbeat === false
        ? undefined
        : new Heartbeat(
            options.heartbeat ?? {},
            () => this.writeDirect(PING_FRAME),
            () => this.abandonSocket('heartbeat timeout'),
          );
    this.tokens = new TokenSource(options.token);
    this.refresher = new TokenRefresher(options.tokenRefreshMargin ?? CLIENT_DEFAULTS.tokenRefreshMargin, () =>
      this.refreshAuth(),
    );
    this.tracker = new RequestTracker((id) => this.queue.removeRequest(id));
    this.queue = new OfflineQueue(options.offlineQueueSize ?? CLIENT_DEFAULTS.offlineQueueSize);
    this.restorer = new RoomRestorer(
      this.rooms,
      (type, data) => this.internalRequest(type, data),
      (event) => this.emit('resume_failed', event),
      (error) => this.reportError(error),
    );
    const report = (error: unknown) => this.reportError(error);
    this.messageHandlers = new ListenerSet(report);
    this.anyHandlers = new ListenerSet(report);
    this.eventHandlers = new ListenerSet((error) => {
      // Not reported as an `error` event: an `error` handler that throws would recurse.
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
      this.slowAttemptsInARow = 0;
      this.hasBeenOpen = false;
      this.reconnectCount = 0;
      this.currentState = 'connecting';
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
    this.rooms.clear();
    this.resumableSession = undefined;
    this.authenticatedUser = undefined;
    const closed = socket ? detachAndClose(socket, NORMAL_CLOSURE, 'client disconnect') : Promise.resolve();
    // Also from `idle`: messages queued before connect() are rejected, and the client is closed.
    if (this.currentState !== 'closed') this.finish(NORMAL_CLOSURE, 'client disconnect');
    return closed;
  }

  /**
   * Authenticates with another token (or token provider), also used on every reconnect from
   * now on. Connects first when the client is not open.
   */
  async auth(token: TokenOption): Promise<AuthSuccessData> {
    this.tokens.set(token);
    if (!this.ready) {
      await this.connect();
      return this.authenticatedUser as AuthSuccessData;
    }
    return this.authenticate();
  }

  /**
   * Joins a room; resolves with `room_joined`. The room is resumed (or re-joined) after
   * reconnects. `join`, `leave` and `chat` need not be awaited one by one: the server handles
   * them in the order they were called, and the client's rooms follow its answers.
   */
  async join(roomId: string, options?: RequestOptions): Promise<RoomJoinedData> {
    return (await this.request<RoomJoinedData>('join_room', { room_id: roomId }, options)).data;
  }

  /**
   * Leaves a room; resolves with `room_left`, rejects on an error frame. From the call on, the
   * room is not restored by a reconnect; a leave cut off by a lost connection is sent again on
   * the next one (leaving is idempotent), so it still resolves with a real `room_left`.
   */
  async leave(roomId: string, options?: RequestOptions): Promise<RoomLeftData> {
    const data = { room_id: roomId };
    return (await this.sendRequest<RoomLeftData>('leave_room', data, options, { leaves: roomId, resend: true })).data;
  }

  /**
   * Sends a chat message to a room the client is in (it comes back to every member, this
   * client too, as `chat_message`). Resolves once the server has accepted it — when this
   * client's own copy arrives, or the server answers a later request — and rejects with
   * {@link RealtimeRequestError} when refused (`NOT_IN_ROOM`, `RATE_LIMITED`, `BAD_REQUEST`,
   * ...), like {@link request} otherwise. Await it or attach a `catch`: an ignored refusal is an
   * unhandled rejection.
   */
  async chat(roomId: string, content: string, options?: RequestOptions): Promise<void> {
    const data = { room_id: roomId, content };
    await this.sendRequest('chat', data, options, { chat: data });
  }

  /** Sends a private message to every connection of `userId` (`error USER_OFFLINE` if none). */
  privateMessage(userId: string, content: string): void {
    this.send('private_message', { target_user_id: userId, content });
  }

  /**
   * Sends a message without waiting for a reply. While the client is not open it is queued;
   * throws {@link OfflineQueueFullError} when the queue is full, {@link ClientClosedError}
   * when the client is closed.
   */
  send(type: string, data?: unknown): void {
    this.sendOrQueue(JSON.stringify({ type, data }), type, undefined);
  }

  /**
   * Sends a message with a fresh `id` and resolves with the reply carrying that id. Rejects
   * with {@link RealtimeRequestError} on an error frame, {@link RequestTimeoutError} when no
   * reply comes in time (time in the offline queue counts), {@link ConnectionLostError} when
   * the connection drops after it was sent (it may or may not have been handled).
   */
  request<TReply = unknown>(type: string, data?: unknown, options: RequestOptions = {}): Promise<Reply<TReply>> {
    return this.sendRequest<TReply>(type, data, options, {});
  }

  /** Handles frames of `type` (typed payloads for the built-ins). Returns the unsubscribe function. */
  on<T extends string>(type: T, handler: MessageHandler<T>): () => void {
    return this.messageHandlers.add(type, handler as (data: unknown, envelope: Envelope) => void);
  }

  /** Handles every frame the client delivers (after de-duplication), in order. */
  onAny(handler: (data: unknown, envelope: Envelope) => void): () => void {
    return this.anyHandlers.add('*', handler);
  }

  /** Handles one of the client's own events (`open`, `reconnecting`, `resume_failed`, ...). */
  onEvent<E extends ClientEventName>(event: E, handler: ClientEventHandler<E>): () => void {
    return this.eventHandlers.add(event, handler as (event: never) => void);
  }

  // ---- outbound ----

  private sendRequest<TReply>(
    type: string,
    data: unknown,
    options: RequestOptions = {},
    track: Omit<TrackOptions, 'resend'> & { resend?: boolean },
  ): Promise<Reply<TReply>> {
    const id = this.tracker.nextId();
    const text = JSON.stringify({ type, id, data });
    const reply = this.tracker.track(id, type, options.timeout ?? this.requestTimeout, {
      ...track,
      resend: track.resend ? text : undefined,
    });
    try {
      this.sendOrQueue(text, type, id);
    } catch (error) {
      this.tracker.fail(id, error as Error);
    }
    // The tracker resolves with the frame that answered; `data` is what the caller says it is.
    return reply as Promise<Reply<TReply>>;
  }

  private sendOrQueue(text: string, type: string, requestId: string | undefined): void {
    const socket = this.socket;
    if (this.ready && socket?.readyState === SOCKET_OPEN) {
      socket.send(text);
      if (requestId !== undefined) this.tracker.markSent(requestId);
      return;
    }
    if (this.currentState === 'closed') throw new ClientClosedError(type);
    this.queue.push(text, type, requestId);
  }

  /** Writes to the current socket, bypassing the queue (the client's own traffic). */
  private writeDirect(text: string): boolean {
    const socket = this.socket;
    if (socket?.readyState !== SOCKET_OPEN) return false;
    socket.send(text);
    return true;
  }

  /** A request of the client's own on the current socket (auth, resume, join_room). */
  private internalRequest(type: string, data: unknown): Promise<Envelope> {
    const id = this.tracker.nextId();
    // The handshake's requests get the same patience as the connect deadline: a server that sent
    // `connected` is working on this attempt, and one given up is still served.
    const reply = this.tracker.track(id, type, this.requestTimeout * this.patience);
    this.tracker.markSent(id);
    if (!this.writeDirect(JSON.stringify({ type, id, data }))) this.tracker.fail(id, new ConnectionLostError(type));
    return reply;
  }

  // ---- connection lifecycle ----

  private openSocket(attempt: number): void {
    this.timer = undefined;
    this.handshakeStarted = false;
    this.connection = undefined;
    this.emit('connecting', { attempt });
    let socket: WebSocketLike;
    try {
      const url = this.options.url;
      socket = new this.WebSocketImpl(typeof url === 'function' ? url() : url);
    } catch (error) {
      // A URL the implementation refuses (or a URL function that throws) will not get better
      // by retrying.
      this.reportError(error);
      return this.finish(ABNORMAL_CLOSURE, 'invalid url');
    }
    this.socket = socket;
    // A connection attempt that hangs (a black-holed SYN, a proxy that never answers) would
    // otherwise wait for the OS's TCP timeout, minutes away.
    this.connectDeadline.start(this.connectTimeout * this.patience);
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

  /**
   * How many times its usual deadlines the current attempt waits: doubled after each attempt in a
   * row given up for a deadline, up to 8 ×, and back to 1 once an attempt opens — as TCP backs
   * off its SYNs. A server that is slow, not gone (busy with a herd of reconnects), answers
   * attempts in the order they came and still serves one given up after its client has left: a
   * herd that keeps abandoning its attempts multiplies the very queue it waits in.
   */
  private get patience(): number {
    return 2 ** Math.min(this.slowAttemptsInARow, 3);
  }

  /** Gives up on the current socket (silent, or stuck in the handshake) and carries on as if it closed. */
  private abandonSocket(reason: string): void {
    const socket = this.socket;
    if (!socket) return;
    this.socket = undefined;
    void detachAndClose(socket, CLIENT_GAVE_UP, reason);
    this.connectionLost(ABNORMAL_CLOSURE, reason);
  }

  private connectionLost(code: number, reason: string): void {
    // Only a connection that stayed up a while counts as working: one that a server accepts,
    // authenticates and resumes, then drops at once, must not start the backoff over each time.
    const wasStable = this.readySince !== undefined && Date.now() - this.readySince >= this.stableConnectionTime;
    this.readySince = undefined;
    this.stopTimers();
    this.ready = false;
    this.connection = undefined;
    this.queue.requeue(this.tracker.rejectOnTheWire());
    if (forbidsRetry(code)) return this.finish(code, reason);
    // 4001 "token expired": the same token would be refused again; only a provider has a fresh
    // one. 4001 "authentication timeout" says nothing about the token: this attempt's `auth` did
    // not reach the server within its `authTimeout` (a stalled client — a throttled background
    // tab, a starved process — or a server busy with a herd), so the next attempt may well make it.
    if (code === 4001 && !this.tokens.canRefresh && reason !== CloseReason.AUTHENTICATION_TIMEOUT)
      return this.finish(code, reason);
    if (!this.backoff) return this.finish(code, reason);
    if (wasStable) this.backoff.reset();
    if (!this.backoff.canRetry) {
      this.reportError(new Error(`gave up reconnecting after ${this.backoff.attempts} attempts`));
      return this.finish(code, reason);
    }
    // 1012 is a planned restart or drain: another node is ready, but so are all the other
    // clients of this one, so the wait is spread over the drain window (see DrainDelay) — once
    // per working (stable) connection, so a node that drains every newcomer gets the backoff.
    const delay = code === 1012 && wasStable ? this.drainDelay.next() : this.backoff.next();
    const attempt = this.backoff.attempts;
    this.currentState = 'reconnecting';
    this.emit('reconnecting', { attempt, delay, code, reason });
    this.timer = setTimeout(() => this.openSocket(attempt), delay);
  }

  /** Closed for good: reject whatever waits, drop the queue. */
  private finish(code: number, reason: string): void {
    this.stopTimers();
    this.ready = false;
    this.readySince = undefined;
    this.connection = undefined;
    if (this.socket) void detachAndClose(this.socket, NORMAL_CLOSURE, reason);
    this.socket = undefined;
    this.tracker.rejectAll((type) => new ClientClosedError(type));
    this.queue.drain();
    this.currentState = 'closed';
    this.emit('closed', { code, reason });
    const waiters = this.connectWaiters;
    this.connectWaiters = [];
    for (const waiter of waiters) waiter.reject(new Error(`connection closed (${code}${reason ? `: ${reason}` : ''})`));
  }

  private stopTimers(): void {
    this.heartbeat?.stop();
    this.refresher.cancel();
    this.connectDeadline.cancel();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** After `connected`: authenticate, restore the rooms, flush the queue, and declare the client open. */
  private async handshake(socket: WebSocketLike): Promise<void> {
    try {
      if (this.tokens.configured) await this.authenticate();
      if (this.socket !== socket) return;
      // A leave waiting to be sent (or sent again) would undo what restoring the room does.
      for (const roomId of this.tracker.roomsBeingLeft()) this.rooms.delete(roomId);
      await this.restorer.restore(this.resumableSession);
      if (this.socket !== socket) return;
    } catch (error) {
      if (this.socket !== socket) return;
      if (error instanceof AuthenticationError) {
        // The same credentials would be refused again: stop instead of hammering the server.
        this.reportError(error);
        return this.finish(NORMAL_CLOSURE, 'authentication failed');
      }
      // A token provider that failed, or a timeout mid-handshake: start over on a new socket,
      // after the backoff.
      if (error instanceof TokenProviderError) this.reportError(error);
      if (error instanceof RequestTimeoutError) this.slowAttemptsInARow++;
      return this.abandonSocket('handshake failed');
    }
    this.slowAttemptsInARow = 0;
    this.ready = true;
    this.resumableSession = this.connection?.session_id;
    if (this.hasBeenOpen) this.reconnectCount++;
    this.hasBeenOpen = true;
    // The backoff starts over once this connection has stayed up (see connectionLost).
    this.readySince = Date.now();
    for (const frame of this.queue.drain()) {
      socket.send(frame.text);
      if (frame.requestId !== undefined) this.tracker.markSent(frame.requestId);
    }
    this.currentState = 'open';
    const info = this.connection as ConnectedData;
    this.emit('open', {
      client_id: info.client_id,
      session_id: info.session_id,
      node_id: info.node_id,
      reconnects: this.reconnectCount,
    });
    const waiters = this.connectWaiters;
    this.connectWaiters = [];
    for (const waiter of waiters) waiter.resolve();
  }

  /** Sends `auth` with the current (or a freshly provided) token and plans the next refresh. */
  private async authenticate(): Promise<AuthSuccessData> {
    const token = await this.provideToken();
    let reply: Envelope;
    try {
      reply = await this.internalRequest('auth', { token });
    } catch (error) {
      if (error instanceof RealtimeRequestError) throw new AuthenticationError(`token refused: ${error.message}`);
      throw error;
    }
    this.authenticatedUser = reply.data as AuthSuccessData;
    if (this.tokens.canRefresh) this.refresher.schedule(token);
    return this.authenticatedUser;
  }

  /**
   * The token to send: the given one, or the provider's within `tokenTimeout` (a patient timer:
   * a provider's HTTP answer left unread by a stall is read before it is timed out).
   */
  private async provideToken(): Promise<string> {
    let rejectTimeout: (error: Error) => void = () => undefined;
    const timeout = new Promise<never>((_, reject) => (rejectTimeout = reject));
    const timer = new PatientTimer(() =>
      rejectTimeout(new TokenProviderError(`the token provider did not answer within ${this.tokenTimeout} ms`)),
    );
    timer.start(this.tokenTimeout);
    try {
      const token = await Promise.race([this.tokens.get(), timeout]);
      if (token === undefined) throw new TokenProviderError('no token');
      return token;
    } catch (error) {
      if (error instanceof TokenProviderError) throw error;
      throw new TokenProviderError(`the token provider failed: ${(error as Error)?.message ?? String(error)}`);
    } finally {
      timer.cancel();
    }
  }

  private refreshAuth(): void {
    if (!this.tokens.canRefresh || !this.ready) return;
    // A failure is reported; if the token then expires, the server closes with 4001 and the
    // reconnect asks the provider again.
    this.authenticate().catch((error: unknown) => this.reportError(error));
  }

  // ---- inbound ----

  private receive(raw: unknown): void {
    this.heartbeat?.received(Date.now());
    const frame = parseFrame(raw);
    if (frame instanceof Error) return this.reportError(frame);
    if (typeof frame.seq === 'number' && typeof frame.room === 'string' && typeof frame.epoch === 'string') {
      const verdict = this.rooms.accept(frame.room, frame.seq, frame.epoch);
      if (verdict === FrameVerdict.DUPLICATE) return;
      if (verdict === FrameVerdict.NEW_EPOCH) {
        this.emit('resume_failed', { room_id: frame.room, reason: 'epoch_changed', epoch: frame.epoch });
      }
    } else {
      this.observe(frame);
    }
    this.tracker.settle(frame, this.authenticatedUser?.user_id);
    this.messageHandlers.emit(frame.type, frame.data, frame);
    this.anyHandlers.emit('*', frame.data, frame);
  }

  /** The client's own bookkeeping for the frames that change its state (none is a room frame). */
  private observe(frame: Envelope): void {
    const data = frame.data;
    switch (frame.type) {
      case 'connected':
        if (this.handshakeStarted || !isRecord(data) || typeof data.session_id !== 'string') return;
        this.handshakeStarted = true;
        this.connectDeadline.cancel(); // the connect deadline is met
        this.connection = data as unknown as ConnectedData;
        if (this.socket) void this.handshake(this.socket);
        return;
      case 'room_joined':
        if (isRecord(data) && typeof data.room_id === 'string') {
          const { seq, epoch } = readPosition(data);
          this.rooms.joined(data.room_id, seq, epoch);
        }
        return;
      case 'room_left':
        if (isRecord(data) && typeof data.room_id === 'string') this.rooms.delete(data.room_id);
        return;
      case 'resume_failed':
        // Not for a room the client has left meanwhile (a leave_room while the resume ran).
        if (isRecord(data) && typeof data.room_id === 'string' && this.rooms.has(data.room_id)) {
          const { seq, epoch } = readPosition(data);
          this.rooms.set(data.room_id, seq, epoch);
          const reason = typeof data.reason === 'string' ? data.reason : 'unknown';
          this.emit('resume_failed', { room_id: data.room_id, reason, seq, epoch });
        }
        return;
      case 'error':
        // The server warns at `exp`; a provider can fix it before the 4001 close.
        if (isRecord(data) && data.code === 'TOKEN_EXPIRED') this.refreshAuth();
        return;
    }
  }

  // ---- events ----

  private emit<E extends ClientEventName>(event: E, payload: ClientEventMap[E]): void {
    this.eventHandlers.emit(event, payload as never, undefined);
  }

  private reportError(error: unknown): void {
    this.emit('error', { error: error instanceof Error ? error : new Error(String(error)) });
  }
}
