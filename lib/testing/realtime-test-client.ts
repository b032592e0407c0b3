import type { Envelope } from '../protocol/envelope.js';
import type { MessageData } from '../client/message-map.js';
import { RealtimeClient } from '../client/realtime-client.js';

/** Options of {@link RealtimeTestClient.expectMessage}. */
export interface ExpectMessageOptions<T extends string> {
  /** @default 2000 ms */
  timeout?: number;
  /** Only a frame this predicate accepts counts (others of the type stay for later calls). */
  where?: (data: MessageData<T>, envelope: Envelope<MessageData<T>>) => boolean;
}

interface Waiter {
  type: string;
  where: ((data: never, envelope: never) => boolean) | undefined;
  resolve: (frame: Envelope) => void;
}

/**
 * A {@link RealtimeClient} for e2e tests that records every frame it is delivered, so a test
 * can wait for one: `await client.expectMessage('chat_message')`. Each frame is handed out once;
 * frames of other types stay available, so the order of `expect` calls need not match arrival.
 */
export class RealtimeTestClient {
  /** Every frame delivered so far, in order. */
  readonly received: Envelope[] = [];
  private readonly taken = new Set<Envelope>();
  private readonly waiters: Waiter[] = [];

  constructor(readonly client: RealtimeClient) {
    client.onAny((_data, envelope) => this.record(envelope));
  }

  /**
   * The next frame of `type` not yet handed out (optionally matching `where`): one already
   * received, or the next to arrive within `timeout`.
   */
  expectMessage<T extends string>(type: T, options: ExpectMessageOptions<T> = {}): Promise<Envelope<MessageData<T>>> {
    const found = this.take(type, options.where as Waiter['where']);
    if (found) return Promise.resolve(found as Envelope<MessageData<T>>);
    const timeout = options.timeout ?? 2000;
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        type,
        where: options.where as Waiter['where'],
        resolve: (frame) => {
          clearTimeout(timer);
          resolve(frame as Envelope<MessageData<T>>);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        const seen = this.received.map((frame) => frame.type).join(', ') || 'nothing';
        reject(new Error(`expected a "${type}" frame within ${timeout} ms; received: ${seen}`));
      }, timeout);
      this.waiters.push(waiter);
    });
  }

  /** Resolves if no frame of `type` (not yet handed out) arrives within `ms`; rejects with it otherwise. */
  async expectNoMessage(type: string, ms = 200): Promise<void> {
    const frame = await this.expectMessage(type, { timeout: ms }).catch(() => undefined);
    if (frame) throw new Error(`expected no "${type}" frame, got ${JSON.stringify(frame)}`);
  }

  /** Joins a room and returns its `room_joined` data (the frame is handed out). */
  async join(roomId: string) {
    const joined = await this.client.join(roomId);
    this.take('room_joined', ((data: { room_id: string }) => data.room_id === roomId) as Waiter['where']);
    return joined;
  }

  /** Disconnects the client (and waits for the socket to close). */
  disconnect(): Promise<void> {
    return this.client.disconnect();
  }

  private record(frame: Envelope): void {
    this.received.push(frame);
    for (let i = 0; i < this.waiters.length; i++) {
      const waiter = this.waiters[i];
      if (this.matches(frame, waiter.type, waiter.where)) {
        this.waiters.splice(i, 1);
        this.taken.add(frame);
        waiter.resolve(frame);
        return;
      }
    }
  }

  private take(type: string, where: Waiter['where']): Envelope | undefined {
    for (const frame of this.received) {
      if (!this.taken.has(frame) && this.matches(frame, type, where)) {
        this.taken.add(frame);
        return frame;
      }
    }
    return undefined;
  }

  private matches(frame: Envelope, type: string, where: Waiter['where']): boolean {
    return frame.type === type && (where === undefined || where(frame.data as never, frame as never));
  }
}
