import { RealtimeBadRequestException } from '../errors/realtime.exception.js';

/** Largest `content` of a chat, private or admin message, in characters. */
export const MAX_CONTENT_LENGTH = 64 * 1024;

/**
 * Reads a required string field of a built-in message's `data` (`BAD_REQUEST` otherwise).
 * Built-ins validate by hand rather than with a ValidationPipe: they are the hot path, and a
 * pipe would take them off the direct call path.
 */
export function requireString(data: unknown, field: string, maxLength = MAX_CONTENT_LENGTH): string {
  const value = typeof data === 'object' && data !== null ? (data as Record<string, unknown>)[field] : undefined;
  if (typeof value !== 'string' || value.length === 0) {
    throw new RealtimeBadRequestException(`data.${field} must be a non-empty string`);
  }
  if (value.length > maxLength) {
    throw new RealtimeBadRequestException(`data.${field} must be at most ${maxLength} characters`);
  }
  return value;
}
