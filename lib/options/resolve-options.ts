import { KeyObject, randomBytes } from 'node:crypto';
import type {
  OriginPredicate,
  RealtimeModuleOptions,
  BuiltinMessageType,
  ResolvedAuthOptions,
  ResolvedRealtimeOptions,
} from '../interfaces/realtime-options.interface.js';
import { DEFAULT_ROOM_SETTINGS, type ResolvedRoomSettings, type RoomSettings } from './room-settings.js';
import { Messages } from '../realtime.messages.js';
import { compileTrustProxy, type TrustProxyPredicate } from './trust-proxy.js';

/** Thrown at start-up for an invalid option; the message names the option. */
export class InvalidRealtimeOptionError extends Error {
  constructor(option: string, problem: string) {
    super(Messages.invalidOption(option, problem));
    this.name = 'InvalidRealtimeOptionError';
  }
}

const NUMERIC_DEFAULTS = {
  maxConnections: 10_000,
  maxMessageSize: 1024 * 1024,
  maxJsonDepth: 32,
  handshakeTimeout: 10_000,
  pingInterval: 25_000,
  pongTimeout: 20_000,
  readTimeout: 0,
  writeTimeout: 30_000,
  connectionTimeout: 0,
  authTimeout: 10_000,
  cleanupInterval: 30_000,
  readBufferSize: 1024 * 1024,
  writeBufferSize: 4 * 1024 * 1024,
  writeDelay: 0,
  shutdownTimeout: 5_000,
  drainDelay: 0,
  drainSpread: 0,
  maxEventLoopDelay: 0,
  maxConnectionsPerUser: 0,
  maxConnectionsPerAddress: 0,
  sessionTtl: 120_000,
  maxRoomsPerConnection: 1000,
} as const;

const RATE_LIMIT_DEFAULTS = {
  messagesPerSecond: 100,
  burst: 200,
  disconnectAfter: 100,
  bytesPerSecond: 1024 * 1024,
} as const;
/** `rateLimit.byteBurst` defaults to this many frames of `maxMessageSize`. */
const BYTE_BURST_FRAMES = 2;
const DEFAULT_EXPIRY_GRACE = 30_000;

/** The documented defaults of {@link RealtimeModuleOptions}. */
export const DEFAULT_OPTIONS = { path: '/ws', ...NUMERIC_DEFAULTS } as const;

type NumericOption = keyof typeof NUMERIC_DEFAULTS;

/** Options that must be a positive integer (> 0). */
const POSITIVE: readonly NumericOption[] = [
  'maxConnections',
  'maxMessageSize',
  'maxJsonDepth',
  'handshakeTimeout',
  'pingInterval',
  'pongTimeout',
  'cleanupInterval',
  'readBufferSize',
  'writeBufferSize',
  'maxRoomsPerConnection',
];
/** Options where 0 means "off". */
const NON_NEGATIVE: readonly NumericOption[] = [
  'readTimeout',
  'writeDelay',
  'writeTimeout',
  'connectionTimeout',
  'authTimeout',
  'shutdownTimeout',
  'drainDelay',
  'drainSpread',
  'maxEventLoopDelay',
  'maxConnectionsPerUser',
  'maxConnectionsPerAddress',
  'sessionTtl',
];

/** Longest `writeDelay`. */
const MAX_WRITE_DELAY = 1000;

/** Node's timers overflow above 2^31-1 ms and fire at once; refuse such values. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const TIMER_OPTIONS = new Set<string>([
  'handshakeTimeout',
  'pingInterval',
  'pongTimeout',
  'readTimeout',
  'writeTimeout',
  'connectionTimeout',
  'authTimeout',
  'cleanupInterval',
  'shutdownTimeout',
  'drainDelay',
  'drainSpread',
  'maxEventLoopDelay',
  'auth.expiryGracePeriod',
  'sessionTtl',
]);

function checkInteger(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new InvalidRealtimeOptionError(name, `must be an integer (got ${String(value)})`);
  }
  if (value < min) {
    throw new InvalidRealtimeOptionError(name, `must be at least ${min} (got ${value})`);
  }
  if (TIMER_OPTIONS.has(name) && value > MAX_TIMER_MS) {
    throw new InvalidRealtimeOptionError(name, `must be at most ${MAX_TIMER_MS} ms (got ${value})`);
  }
  return value;
}

function resolveTrustProxy(trust: RealtimeModuleOptions['trustProxy']): TrustProxyPredicate | undefined {
  try {
    return compileTrustProxy(trust);
  } catch (error) {
    throw new InvalidRealtimeOptionError(
      'trustProxy',
      `must be a boolean, a hop count, addresses or subnets, or a predicate (${(error as Error).message})`,
    );
  }
}

/** Longer Origin headers are refused outright (real ones are a scheme, a host and a port). */
const MAX_ORIGIN_LENGTH = 1024;

function normalizeOrigin(origin: string): string {
  // A loop rather than /\/+$/: that regex is quadratic on a long run of slashes.
  let end = origin.length;
  while (end > 0 && origin.charCodeAt(end - 1) === 0x2f) end--;
  return origin.slice(0, end).trim().toLowerCase();
}

function resolveOrigins(allowed: RealtimeModuleOptions['allowedOrigins']): OriginPredicate | undefined {
  if (allowed === undefined) return undefined;
  if (typeof allowed === 'function') return allowed;
  if (!Array.isArray(allowed) || allowed.some((o) => typeof o !== 'string' || o.trim() === '')) {
    throw new InvalidRealtimeOptionError(
      'allowedOrigins',
      'must be an array of non-empty origin strings or a predicate function',
    );
  }
  if (allowed.includes('*')) return undefined;
  const set = new Set(allowed.map(normalizeOrigin));
  // Non-browser clients send no Origin; an allow-list is about browsers, so they pass.
  return (origin) => origin === undefined || (origin.length <= MAX_ORIGIN_LENGTH && set.has(normalizeOrigin(origin)));
}

/**
 * Applies defaults and validates the whole option set. Runs once, when the module is created,
 * so a bad configuration fails start-up instead of the first connection.
 */
export function resolveRealtimeOptions(options: RealtimeModuleOptions = {}): ResolvedRealtimeOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidRealtimeOptionError('(options)', 'must be an object');
  }
  const merged: Record<NumericOption, number> = { ...NUMERIC_DEFAULTS };
  for (const name of POSITIVE) {
    const value = options[name];
    merged[name] = value === undefined ? NUMERIC_DEFAULTS[name] : checkInteger(name, value, 1);
  }
  for (const name of NON_NEGATIVE) {
    const value = options[name];
    merged[name] = value === undefined ? NUMERIC_DEFAULTS[name] : checkInteger(name, value, 0);
  }
  if (merged.writeDelay > MAX_WRITE_DELAY) {
    throw new InvalidRealtimeOptionError(
      'writeDelay',
      `must be at most ${MAX_WRITE_DELAY} ms (got ${merged.writeDelay}): batching gains nothing past a ` +
        'few milliseconds, and every frame would wait that long',
    );
  }
  if (merged.readTimeout !== 0 && merged.readTimeout <= merged.pingInterval) {
    throw new InvalidRealtimeOptionError(
      'readTimeout',
      `must be 0 (off) or above pingInterval (${merged.pingInterval}), or idle but healthy ` +
        'connections would be cut between two pings',
    );
  }

  const path = options.path ?? DEFAULT_OPTIONS.path;
  if (typeof path !== 'string' || !path.startsWith('/') || /[?#\s]/.test(path)) {
    throw new InvalidRealtimeOptionError('path', `must be a URL path starting with "/" (got ${String(path)})`);
  }
  const nodeId = options.nodeId ?? randomBytes(6).toString('hex');
  if (typeof nodeId !== 'string' || !/^[A-Za-z0-9_.:-]{1,64}$/.test(nodeId)) {
    throw new InvalidRealtimeOptionError('nodeId', 'must be 1..64 characters of [A-Za-z0-9_.:-]');
  }
  const tracing = options.tracing ?? true;
  if (typeof tracing !== 'boolean') {
    throw new InvalidRealtimeOptionError('tracing', `must be a boolean (got ${String(tracing)})`);
  }
  const builtins = options.builtins ?? {};
  const connectionGuards = checkGuards('connectionGuards', options.connectionGuards);
  return {
    ...merged,
    path,
    nodeId,
    allowedOrigins: resolveOrigins(options.allowedOrigins),
    builtins: resolveBuiltins(builtins),
    rooms: resolveRooms(options.rooms),
    joinGuards: checkGuards('joinGuards', options.joinGuards),
    // Checked and defaulted (to the in-memory adapter) by the module, which may import cluster/.
    cluster: options.cluster,
    auth: resolveAuth(options.auth),
    rateLimit: resolveRateLimit(options.rateLimit, merged.maxMessageSize),
    history: resolveHistory(options.history),
    resume: resolveResume(options.resume, merged.maxRoomsPerConnection),
    connectionGuards,
    trustProxy: resolveTrustProxy(options.trustProxy),
    tracing,
    compression: resolveCompression(options.compression),
  } as ResolvedRealtimeOptions;
}

/** Every built-in message type (the keys of the `builtins` option). */
export const BUILTIN_TYPES: readonly BuiltinMessageType[] = [
  'echo',
  'ping',
  'auth',
  'join_room',
  'leave_room',
  'chat',
  'private_message',
  'admin_message',
  'presence',
  'resume',
];

function resolveBuiltins(builtins: RealtimeModuleOptions['builtins'] = {}): Record<BuiltinMessageType, boolean> {
  const unknown = Object.keys(builtins).filter((key) => !BUILTIN_TYPES.includes(key as BuiltinMessageType));
  if (unknown.length > 0) {
    throw new InvalidRealtimeOptionError(
      'builtins',
      `has unknown types ${unknown.join(', ')}; known: ${BUILTIN_TYPES.join(', ')}`,
    );
  }
  return Object.fromEntries(BUILTIN_TYPES.map((type) => [type, builtins[type] ?? true])) as Record<
    BuiltinMessageType,
    boolean
  >;
}

function checkGuards<T>(name: string, guards: readonly T[] | undefined): readonly T[] {
  const list = guards ?? [];
  if (
    !Array.isArray(list) ||
    list.some(
      (g) => typeof g !== 'function' && typeof (g as { canActivate?: unknown } | null)?.canActivate !== 'function',
    )
  ) {
    throw new InvalidRealtimeOptionError(name, 'must be an array of guard classes or guard instances');
  }
  return list;
}

function resolveRoomSettings(settings: RoomSettings, origin: string): ResolvedRoomSettings {
  const resolved = { ...DEFAULT_ROOM_SETTINGS, ...settings };
  if (typeof resolved.presence !== 'boolean') {
    throw new InvalidRealtimeOptionError(`${origin}.presence`, 'must be a boolean');
  }
  checkInteger(`${origin}.presenceDiffLimit`, resolved.presenceDiffLimit, 0);
  checkInteger(`${origin}.presenceDiffInterval`, resolved.presenceDiffInterval, 1);
  if (resolved.presenceDiffInterval > MAX_TIMER_MS) {
    throw new InvalidRealtimeOptionError(`${origin}.presenceDiffInterval`, `must be at most ${MAX_TIMER_MS} ms`);
  }
  checkInteger(`${origin}.presenceDiffMaxUsers`, resolved.presenceDiffMaxUsers, 1);
  checkInteger(`${origin}.historySize`, resolved.historySize, 0);
  checkInteger(`${origin}.historyTtl`, resolved.historyTtl, 1);
  checkInteger(`${origin}.historyMaxBytes`, resolved.historyMaxBytes, 1);
  if (typeof resolved.historyWithoutMembers !== 'boolean') {
    throw new InvalidRealtimeOptionError(`${origin}.historyWithoutMembers`, 'must be a boolean');
  }
  if (!['disconnect', 'drop', 'conflate'].includes(resolved.slowConsumer)) {
    throw new InvalidRealtimeOptionError(`${origin}.slowConsumer`, "must be 'disconnect', 'drop' or 'conflate'");
  }
  return Object.freeze(resolved);
}

const HISTORY_DEFAULTS = {
  maxBytes: 64 * 1024 * 1024,
  maxConcurrentReplays: 16,
  replayChunkBytes: 256 * 1024,
} as const;
const RESUME_DEFAULTS = { maxRooms: 100 } as const;

function resolveHistory(history: RealtimeModuleOptions['history']): ResolvedRealtimeOptions['history'] {
  if (history !== undefined && (typeof history !== 'object' || history === null)) {
    throw new InvalidRealtimeOptionError('history', 'must be an object');
  }
  const merged = { ...HISTORY_DEFAULTS, ...history };
  checkInteger('history.maxBytes', merged.maxBytes, 1);
  checkInteger('history.maxConcurrentReplays', merged.maxConcurrentReplays, 1);
  // Below one typical frame a chunk would be one entry per Redis call: allowed, but not below 1 KiB.
  checkInteger('history.replayChunkBytes', merged.replayChunkBytes, 1024);
  return merged;
}

function resolveResume(
  resume: RealtimeModuleOptions['resume'],
  maxRoomsPerConnection: number,
): ResolvedRealtimeOptions['resume'] {
  if (resume !== undefined && (typeof resume !== 'object' || resume === null)) {
    throw new InvalidRealtimeOptionError('resume', 'must be an object');
  }
  const merged = { ...RESUME_DEFAULTS, ...resume };
  checkInteger('resume.maxRooms', merged.maxRooms, 1);
  // A resume joins its rooms: it can never take more than a connection may be in.
  return { maxRooms: Math.min(merged.maxRooms, maxRoomsPerConnection) };
}

const COMPRESSION_DEFAULTS = { enabled: false, threshold: 1024, level: 6 } as const;
/** zlib's levels; 0 stores without compressing, which would only cost a copy. */
const MIN_LEVEL = 1;
const MAX_LEVEL = 9;

function resolveCompression(compression: RealtimeModuleOptions['compression']): ResolvedRealtimeOptions['compression'] {
  if (compression === undefined || typeof compression === 'boolean') {
    return { ...COMPRESSION_DEFAULTS, enabled: compression ?? false };
  }
  if (typeof compression !== 'object' || compression === null) {
    throw new InvalidRealtimeOptionError('compression', 'must be a boolean or an object');
  }
  const merged = { ...COMPRESSION_DEFAULTS, ...compression };
  if (typeof merged.enabled !== 'boolean') {
    throw new InvalidRealtimeOptionError('compression.enabled', `must be a boolean (got ${String(merged.enabled)})`);
  }
  checkInteger('compression.threshold', merged.threshold, 0);
  checkInteger('compression.level', merged.level, MIN_LEVEL);
  if (merged.level > MAX_LEVEL) {
    throw new InvalidRealtimeOptionError('compression.level', `must be at most ${MAX_LEVEL} (got ${merged.level})`);
  }
  return merged;
}

function resolveRooms(rooms: RealtimeModuleOptions['rooms']): (roomId: string) => ResolvedRoomSettings {
  if (typeof rooms === 'function') return (roomId) => resolveRoomSettings(rooms(roomId) ?? {}, `rooms(${roomId})`);
  const fixed = resolveRoomSettings(rooms ?? {}, 'rooms');
  return () => fixed;
}

function resolveAuth(auth: RealtimeModuleOptions['auth']): ResolvedAuthOptions | undefined {
  if (auth === undefined) return undefined;
  if (typeof auth !== 'object' || auth === null) {
    throw new InvalidRealtimeOptionError('auth', 'must be an object');
  }
  if (auth.secret !== undefined && auth.publicKey !== undefined) {
    throw new InvalidRealtimeOptionError(
      'auth',
      'takes either "secret" (HS256) or "publicKey" (RS256/ES256), not both',
    );
  }
  if (
    auth.secret !== undefined &&
    !(auth.secret instanceof KeyObject) &&
    ((typeof auth.secret !== 'string' && !Buffer.isBuffer(auth.secret)) || auth.secret.length === 0)
  ) {
    throw new InvalidRealtimeOptionError('auth.secret', 'must be a non-empty string or Buffer, or a KeyObject');
  }
  const symmetric = auth.secret !== undefined;
  const algorithms =
    auth.algorithms ?? (symmetric ? ['HS256'] : auth.publicKey !== undefined ? ['RS256', 'ES256'] : undefined);
  if (algorithms !== undefined) {
    if (!Array.isArray(algorithms) || algorithms.length === 0) {
      throw new InvalidRealtimeOptionError('auth.algorithms', 'must be a non-empty array');
    }
    // Mixing families is how HS/RS confusion attacks work: a secret only verifies HMAC, a key only signatures.
    const wrongFamily = algorithms.filter((a) =>
      symmetric ? !a.startsWith('HS') : a.startsWith('HS') || a === ('none' as string),
    );
    if (wrongFamily.length > 0) {
      throw new InvalidRealtimeOptionError(
        'auth.algorithms',
        `contains ${wrongFamily.join(', ')}, which cannot be used with ${symmetric ? '"secret"' : '"publicKey"'}`,
      );
    }
  }
  const expiryGracePeriod =
    auth.expiryGracePeriod === undefined
      ? DEFAULT_EXPIRY_GRACE
      : checkInteger('auth.expiryGracePeriod', auth.expiryGracePeriod, 0);
  return {
    ...auth,
    algorithms,
    required: auth.required ?? true,
    requireExpiration: auth.requireExpiration ?? true,
    expiryGracePeriod,
  };
}

function resolveRateLimit(
  rateLimit: RealtimeModuleOptions['rateLimit'],
  maxMessageSize: number,
): ResolvedRealtimeOptions['rateLimit'] {
  if (rateLimit === false) return undefined;
  const merged = { byteBurst: BYTE_BURST_FRAMES * maxMessageSize, ...RATE_LIMIT_DEFAULTS, ...(rateLimit ?? {}) };
  checkInteger('rateLimit.messagesPerSecond', merged.messagesPerSecond, 1);
  checkInteger('rateLimit.burst', merged.burst, 1);
  checkInteger('rateLimit.disconnectAfter', merged.disconnectAfter, 0);
  checkInteger('rateLimit.bytesPerSecond', merged.bytesPerSecond, 0);
  checkInteger('rateLimit.byteBurst', merged.byteBurst, 1);
  if (merged.bytesPerSecond > 0 && merged.byteBurst < maxMessageSize) {
    throw new InvalidRealtimeOptionError(
      'rateLimit.byteBurst',
      `must be at least maxMessageSize (${maxMessageSize}), or a frame of the largest allowed size is always refused (got ${merged.byteBurst})`,
    );
  }
  return merged;
}
