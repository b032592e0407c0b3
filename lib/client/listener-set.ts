/**
 * Handlers per name, with no dependency on Node's `events` (the client also runs in browsers).
 * A handler that throws does not stop the others: its error goes to `onHandlerError`.
 *
 * The lists are copy-on-write: adding or removing a handler replaces the array, so `emit` walks
 * the current one without copying it — nothing is allocated per delivered frame, and a handler
 * may unsubscribe itself while being called.
 */
export class ListenerSet<A, B = undefined> {
  private readonly handlers = new Map<string, readonly ((a: A, b: B) => void)[]>();

  constructor(private readonly onHandlerError: (error: unknown) => void) {}

  /** Adds a handler; returns the function that removes it. */
  add(name: string, handler: (a: A, b: B) => void): () => void {
    this.handlers.set(name, [...(this.handlers.get(name) ?? []), handler]);
    return () => this.remove(name, handler);
  }

  remove(name: string, handler: (a: A, b: B) => void): void {
    const list = this.handlers.get(name);
    if (!list) return;
    const index = list.indexOf(handler);
    if (index === -1) return;
    const rest = [...list.slice(0, index), ...list.slice(index + 1)];
    if (rest.length === 0) this.handlers.delete(name);
    else this.handlers.set(name, rest);
  }

  /** Calls the handlers of `name`, in the order they were added. */
  emit(name: string, a: A, b: B): void {
    const list = this.handlers.get(name);
    if (!list) return;
    for (let i = 0; i < list.length; i++) {
      try {
        list[i](a, b);
      } catch (error) {
        this.onHandlerError(error);
      }
    }
  }
}
