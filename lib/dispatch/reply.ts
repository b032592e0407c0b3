/**
 * Return this from a handler (or an exception filter) to choose the reply frame's `type` for one
 * call, instead of the `reply` type declared on `@OnMessage`.
 */
export class Reply<TData = unknown> {
  constructor(
    readonly type: string,
    readonly data: TData,
  ) {}
}
