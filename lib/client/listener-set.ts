/**
 * Handlers per name, with no dependency on Node's `events` (the client also runs in browsers).
 * A handler that throws does not stop the others: its error goes to `onHandlerError`.
 */
export class ListenerSet<H extends (...args: never[]) => void> {
  private readonly handlers = new Map<string, H[]>();

  constructor(private readonly onHandlerError: (error: unknown) => void) {}

  /** Adds a handler; returns the function that removes it. */
  add(name: string, handler: H): () => void {
    const list = this.handlers.get(name);
    if (list) list.push(handler);
    else this.handlers.set(name, [handler]);
    return () => this.remove(name, handler);
  }

  remove(name: string, handler: H): void {
    const list = this.handlers.get(name);
    if (!list) return;
    const index = list.indexOf(handler);
    if (index !== -1) list.splice(index, 1);
    if (list.length === 0) this.handlers.delete(name);
  }

  has(name: string): boolean {
    return this.handlers.has(name);
  }

  /** Calls the handlers of `name` with `args`, in the order they were added. */
  emit(name: string, ...args: Parameters<H>): void {
    const list = this.handlers.get(name);
    if (!list) return;
    // A one-handler list (the common case) needs no copy; a longer one is copied so a handler
    // may remove itself while the list is walked.
    if (list.length === 1) return this.call(list[0], args);
    for (const handler of list.slice()) this.call(handler, args);
  }

  private call(handler: H, args: Parameters<H>): void {
    try {
      handler(...args);
    } catch (error) {
      this.onHandlerError(error);
    }
  }
}
