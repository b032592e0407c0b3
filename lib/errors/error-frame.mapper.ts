import { HttpException } from '@nestjs/common';
import { WsException } from '@nestjs/websockets';
import { ErrorCode, ErrorFrameType } from '../protocol/error-codes.js';
import type { ErrorData } from '../protocol/envelope.js';
import { RealtimeException } from './realtime.exception.js';

/** An error translated for the wire; `internal` errors are also logged in full on the server. */
export interface MappedError {
  frameType: ErrorFrameType;
  data: ErrorData;
  internal: boolean;
}

const INTERNAL_MESSAGE = 'internal error';

/**
 * The code of an HTTP exception's status, for handlers that throw Nest's HTTP exceptions
 * (README, "Handlers"): 400 `BAD_REQUEST`, 401 `AUTH_REQUIRED`, 403 `FORBIDDEN`, 404 `NOT_FOUND`,
 * 429 `RATE_LIMITED`, any other 4xx `BAD_REQUEST`; 5xx and anything else (a 3xx makes no sense
 * as an answer to a message) `INTERNAL`, whose message is not sent.
 */
export function errorCodeOfHttpStatus(status: number): ErrorCode {
  switch (status) {
    case 401:
      return ErrorCode.AUTH_REQUIRED;
    case 403:
      return ErrorCode.FORBIDDEN;
    case 404:
      return ErrorCode.NOT_FOUND;
    case 429:
      return ErrorCode.RATE_LIMITED;
    default:
      return status >= 400 && status < 500 ? ErrorCode.BAD_REQUEST : ErrorCode.INTERNAL;
  }
}

function fromHttpException(error: HttpException): MappedError {
  const code = errorCodeOfHttpStatus(error.getStatus());
  if (code === ErrorCode.INTERNAL) {
    return {
      frameType: ErrorFrameType.ERROR,
      data: { code: ErrorCode.INTERNAL, message: INTERNAL_MESSAGE },
      internal: true,
    };
  }
  const response = error.getResponse();
  // ValidationPipe (and most HTTP exceptions built from an object) put the list of problems in
  // `message`: send it as `details` so that clients see what was wrong with their data.
  const body = typeof response === 'object' && response !== null ? (response as Record<string, unknown>) : undefined;
  const details = Array.isArray(body?.message) ? body.message : undefined;
  const message = details ? 'validation failed' : error.message;
  return {
    frameType: ErrorFrameType.ERROR,
    data: details ? { code, message, details } : { code, message },
    internal: false,
  };
}

function fromWsException(error: WsException): MappedError {
  const raw = error.getError();
  if (typeof raw === 'object' && raw !== null) {
    const { code, message, details } = raw as Record<string, unknown>;
    return {
      frameType: ErrorFrameType.ERROR,
      data: {
        code: typeof code === 'string' ? code : ErrorCode.BAD_REQUEST,
        message: typeof message === 'string' ? message : error.message,
        ...(details !== undefined && { details }),
      },
      internal: false,
    };
  }
  return {
    frameType: ErrorFrameType.ERROR,
    data: { code: ErrorCode.BAD_REQUEST, message: String(raw) },
    internal: false,
  };
}

/**
 * Translates anything a handler, guard, pipe, interceptor or filter threw into an error frame
 * (PROTOCOL.md, "Errors"): our {@link RealtimeException}s keep their code, Nest's `WsException`
 * and HTTP exceptions map by kind and status, and everything else is `INTERNAL` with no detail.
 */
export function mapErrorToFrame(error: unknown): MappedError {
  if (error instanceof RealtimeException) {
    const data: ErrorData =
      error.details === undefined
        ? { code: error.code, message: error.message }
        : { code: error.code, message: error.message, details: error.details };
    return { frameType: error.frameType, data, internal: false };
  }
  if (error instanceof HttpException) return fromHttpException(error);
  if (error instanceof WsException) return fromWsException(error);
  return {
    frameType: ErrorFrameType.ERROR,
    data: { code: ErrorCode.INTERNAL, message: INTERNAL_MESSAGE },
    internal: true,
  };
}
