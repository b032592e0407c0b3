import { randomBytes } from 'node:crypto';

/** A fresh room epoch: opaque to clients, only ever compared for equality. */
export function newEpoch(): string {
  return randomBytes(6).toString('base64url');
}
