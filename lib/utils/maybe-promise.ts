/** A value now, or later: what user-supplied hooks (validator, user provider) may return. */
export type MaybePromise<T> = T | Promise<T>;

/** True for promises and other thenables. */
export function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as PromiseLike<T> | null | undefined)?.then === 'function';
}
