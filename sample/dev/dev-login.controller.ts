import { BadRequestException, Body, Controller, Inject, Post } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';

/** DI token of the secret dev tokens are signed with (the sample's JWT secret). */
export const DEV_LOGIN_SECRET = Symbol('DEV_LOGIN_SECRET');

const USERNAME = /^[A-Za-z0-9_-]{1,32}$/;
/** Dev tokens live an hour; the page's client fetches a fresh one before then. */
const TOKEN_TTL_SECONDS = 3600;

/** Prefix of the user ids of dev tokens: they can never be a real user's id. */
export const DEV_USER_PREFIX = 'dev:';

/**
 * `POST /dev/token { username }` → `{ token, user_id }`: a development login for the chat page,
 * with no password. The user id is the name in the `dev:` namespace (`dev:ann`), so two tabs
 * with one name are one user, and a dev token cannot impersonate a real user. Mounted only when
 * the sample runs on its development secret or with `DEV_LOGIN=1` (refused with
 * `NODE_ENV=production`): with a real `JWT_SECRET` it would let anyone mint tokens.
 */
@Controller('dev')
export class DevLoginController {
  private readonly jwt: JwtService;

  constructor(@Inject(DEV_LOGIN_SECRET) secret: string) {
    this.jwt = new JwtService({ secret });
  }

  @Post('token')
  issue(@Body() body: { username?: unknown }): { token: string; user_id: string } {
    const username = body?.username;
    if (typeof username !== 'string' || !USERNAME.test(username)) {
      throw new BadRequestException('username must be 1..32 characters of [A-Za-z0-9_-]');
    }
    const exp = Math.floor(Date.now() / 1000) + TOKEN_TTL_SECONDS;
    const userId = `${DEV_USER_PREFIX}${username}`;
    return { token: this.jwt.sign({ user_id: userId, username, roles: [], exp }), user_id: userId };
  }
}
