import { describe, expect, it } from '@jest/globals';
import {
  BadRequestException,
  ConflictException,
  ForbiddenException,
  HttpException,
  InternalServerErrorException,
  NotFoundException,
  PayloadTooLargeException,
  ServiceUnavailableException,
  UnauthorizedException,
  UnprocessableEntityException,
} from '@nestjs/common';
import { WsException } from '@nestjs/websockets';
import { errorCodeOfHttpStatus, mapErrorToFrame } from '../../../lib/errors/error-frame.mapper.js';
import {
  NotInRoomException,
  RealtimeBadRequestException,
  RealtimeException,
} from '../../../lib/errors/realtime.exception.js';

describe('mapErrorToFrame', () => {
  it.each([
    [new BadRequestException('bad'), 'BAD_REQUEST', 'bad'],
    [new UnauthorizedException('who are you'), 'AUTH_REQUIRED', 'who are you'],
    [new ForbiddenException('no'), 'FORBIDDEN', 'no'],
    [new NotFoundException('note 7 does not exist'), 'NOT_FOUND', 'note 7 does not exist'],
    [new HttpException('slow down', 429), 'RATE_LIMITED', 'slow down'],
    [new ConflictException('taken'), 'BAD_REQUEST', 'taken'],
    [new PayloadTooLargeException('too big'), 'BAD_REQUEST', 'too big'],
    [new UnprocessableEntityException('odd'), 'BAD_REQUEST', 'odd'],
  ])('maps %s to %s with its message', (error, code, message) => {
    expect(mapErrorToFrame(error)).toEqual({ frameType: 'error', data: { code, message }, internal: false });
  });

  it.each([
    new InternalServerErrorException('db password is hunter2'),
    new ServiceUnavailableException('backend at 10.0.0.3 down'),
    new HttpException('moved', 302),
    new HttpException('weird', 600),
    new Error('secret internals'),
    'a thrown string',
  ])('maps %s to INTERNAL with no internals, for the server log', (error) => {
    expect(mapErrorToFrame(error)).toEqual({
      frameType: 'error',
      data: { code: 'INTERNAL', message: 'internal error' },
      internal: true,
    });
  });

  it('sends the problems of a ValidationPipe-style exception as details', () => {
    const error = new BadRequestException({ message: ['content must be a string'], error: 'Bad Request' });
    expect(mapErrorToFrame(error).data).toEqual({
      code: 'BAD_REQUEST',
      message: 'validation failed',
      details: ['content must be a string'],
    });
  });

  it('keeps the code, frame type and details of a RealtimeException, although it is an HttpException too', () => {
    expect(new RealtimeBadRequestException('x')).toBeInstanceOf(HttpException);
    expect(mapErrorToFrame(new NotInRoomException('general')).data).toEqual({
      code: 'NOT_IN_ROOM',
      message: 'join room "general" first',
    });
    expect(mapErrorToFrame(new RealtimeException('QUOTA', 'over', { limit: 1 }))).toEqual({
      frameType: 'error',
      data: { code: 'QUOTA', message: 'over', details: { limit: 1 } },
      internal: false,
    });
  });

  it('maps a WsException by its { code, message }, or a string as BAD_REQUEST', () => {
    expect(mapErrorToFrame(new WsException({ code: 'NOT_IN_ROOM', message: 'join first' })).data).toEqual({
      code: 'NOT_IN_ROOM',
      message: 'join first',
    });
    expect(mapErrorToFrame(new WsException('nope')).data).toEqual({ code: 'BAD_REQUEST', message: 'nope' });
  });
});

describe('errorCodeOfHttpStatus', () => {
  it('follows the README table', () => {
    expect([400, 401, 403, 404, 405, 409, 418, 429, 499, 500, 503, 301, 200].map(errorCodeOfHttpStatus)).toEqual([
      'BAD_REQUEST',
      'AUTH_REQUIRED',
      'FORBIDDEN',
      'NOT_FOUND',
      'BAD_REQUEST',
      'BAD_REQUEST',
      'BAD_REQUEST',
      'RATE_LIMITED',
      'BAD_REQUEST',
      'INTERNAL',
      'INTERNAL',
      'INTERNAL',
      'INTERNAL',
    ]);
  });
});
