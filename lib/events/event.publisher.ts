import { Injectable, Logger } from '@nestjs/common';
import { filter, Observable, Subject } from 'rxjs';
import {
  REALTIME_EVENT_NAMES,
  type RealtimeEvent,
  type RealtimeEventMap,
  type RealtimeEventName,
} from './realtime-event.types.js';

type Listener<K extends RealtimeEventName> = (payload: RealtimeEventMap[K]) => unknown;

/**
 * Typed lifecycle events: subscribe with `events$` / `on(name)` (RxJS), or decorate a provider's
 * method with `@OnRealtimeEvent(name)`.
 *
 * Emitting is free when nobody listens: the hot path asks {@link isObserved} before it builds a
 * payload, so `message.received` costs nothing per message in an app that does not use it.
 */
@Injectable()
export class EventPublisher {
  private readonly logger = new Logger('RealtimeEvents');
  private readonly subject = new Subject<RealtimeEvent>();
  private readonly listeners = new Map<RealtimeEventName, Listener<never>[]>(
    REALTIME_EVENT_NAMES.map((name) => [name, []]),
  );

  /** Every event. */
  readonly events$: Observable<RealtimeEvent> = this.subject.asObservable();

  /** Events of one name, as their payloads. */
  on<K extends RealtimeEventName>(name: K): Observable<RealtimeEventMap[K]> {
    return new Observable<RealtimeEventMap[K]>((subscriber) =>
      this.subject
        .pipe(filter((event): event is Extract<RealtimeEvent, { name: K }> => event.name === name))
        .subscribe({
          next: (event) => subscriber.next(event.payload as RealtimeEventMap[K]),
          complete: () => subscriber.complete(),
        }),
    );
  }

  /** True when an emit of `name` would reach anyone. */
  isObserved(name: RealtimeEventName): boolean {
    return this.subject.observed || this.listeners.get(name)!.length > 0;
  }

  /** @internal Registers a decorated method (the explorer does this at bootstrap). */
  addListener<K extends RealtimeEventName>(name: K, listener: Listener<K>): void {
    this.listeners.get(name)!.push(listener as Listener<never>);
  }

  /** @internal Drops every decorated listener (before re-exploring). */
  clearListeners(): void {
    for (const list of this.listeners.values()) list.length = 0;
  }

  emit<K extends RealtimeEventName>(name: K, payload: RealtimeEventMap[K]): void {
    for (const listener of this.listeners.get(name)!) {
      try {
        const result = (listener as Listener<K>)(payload);
        if (result instanceof Promise) result.catch((error: unknown) => this.listenerFailed(name, error));
      } catch (error) {
        this.listenerFailed(name, error);
      }
    }
    if (this.subject.observed) this.subject.next({ name, payload } as RealtimeEvent);
  }

  /** Completes the observables (on shutdown). */
  complete(): void {
    this.subject.complete();
  }

  private listenerFailed(name: string, error: unknown): void {
    this.logger.error(`A listener of "${name}" threw`, error instanceof Error ? error.stack : String(error));
  }
}
