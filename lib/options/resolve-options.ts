import { randomBytes } from 'node:crypto';
import type {
  OriginPredicate,
  RealtimeModuleOptions,
  ResolvedRealtimeOptions,
} from '../interfaces/realtime-options.interface.js';
import { Messages } from '../realtime.messages.js';

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
  handshakeTimeout: 10_000,
  pingInterval: 54_000,
  pongTimeout: 60_000,
  readTimeout: 0,
  writeTimeout: 30_000,
  connectionTimeout: 0,
  cleanupInterval: 30_000,
  readBufferSize: 1024 * 1024,
  writeBufferSize: 4 * 1024 * 1024,
  shutdownTimeout: 5_000,
} as const;

/** The documented defaults of {@link RealtimeModuleOptions}. */
export const DEFAULT_OPTIONS = { path: '/ws', ...NUMERIC_DEFAULTS } as const;

type NumericOption = keyof typeof NUMERIC_DEFAULTS;

/** Options that must be a positive integer (> 0). */
const POSITIVE: readonly NumericOption[] = [
  'maxConnections',
  'maxMessageSize',
  'handshakeTimeout',
  'pingInterval',
  'pongTimeout',
  'cleanupInterval',
  'readBufferSize',
  'writeBufferSize',
];
/** Options where 0 means "off". */
const NON_NEGATIVE: readonly NumericOption[] = ['readTimeout', 'writeTimeout', 'connectionTimeout', 'shutdownTimeout'];

/** Node's timers overflow above 2^31-1 ms and fire at once; refuse such values. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const TIMER_OPTIONS = new Set<string>([
  'handshakeTimeout',
  'pingInterval',
  'pongTimeout',
  'readTimeout',
  'writeTimeout',
  'connectionTimeout',
  'cleanupInterval',
  'shutdownTimeout',
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

function normalizeOrigin(origin: string): string {
  return origin.trim().replace(/\/+$/, '').toLowerCase();
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
  return (origin) => origin === undefined || set.has(normalizeOrigin(origin));
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
  if (merged.pingInterval >= merged.pongTimeout) {
    throw new InvalidRealtimeOptionError(
      'pingInterval',
      `must be below pongTimeout (${merged.pingInterval} >= ${merged.pongTimeout}), or a live peer ` +
        'would be terminated before it is asked for a pong',
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
  const builtins = options.builtins ?? {};
  return {
    ...merged,
    path,
    nodeId,
    allowedOrigins: resolveOrigins(options.allowedOrigins),
    builtins: { echo: builtins.echo ?? true, ping: builtins.ping ?? true },
  } as ResolvedRealtimeOptions;
}
