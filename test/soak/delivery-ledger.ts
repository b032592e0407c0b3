/**
 * The soak's bookkeeping of room messages: what each sender had acknowledged, what each member
 * delivered (through the SDK, in order), and where a member was told its position moved
 * (`room_joined`, `resume_failed`, an epoch change). From that it judges every published message
 * for every member of its room:
 *
 * - delivered once: fine; more than once in one epoch: a **duplicate**; again in another epoch
 *   (the member was told of the change between the copies): counted apart, as a re-delivery;
 * - not delivered, but covered by what the member was told — at or below a position the server
 *   gave it in that epoch, past its last delivery in an epoch it then left, or in an epoch it
 *   never saw while it was told of an epoch change after the message — **excused**;
 * - otherwise a **loss**.
 *
 * A member's deliveries in one epoch with no notice between them must go up by one: a lower seq
 * is a **reordering**. Contents name their room and sender, so a frame in the wrong room or with
 * the wrong `user_id` is a **crossing**.
 */

/** Where a member was told it stands in a room: `seq` is the last one it will not get. */
interface Notice {
  kind: 'notice';
  at: number;
  epoch: string;
  /** Undefined for an epoch change seen on a frame: everything below that frame is excused. */
  seq: number | undefined;
}

interface Delivery {
  kind: 'delivery';
  epoch: string;
  seq: number;
  id: string;
}

type StreamEvent = Notice | Delivery;

interface Published {
  id: string;
  room: string;
  /** When it was sent (ms), for the "told of an epoch change after it" excuse. */
  sentAt: number;
  acked: boolean;
  epoch?: string;
  seq?: number;
}

/** The figures of a judgement. */
export interface LedgerReport {
  /** Distinct messages known to be published (acknowledged, or delivered to someone). */
  published: number;
  acknowledged: number;
  /** Member × message pairs judged. */
  expected: number;
  delivered: number;
  excused: number;
  /** Of those: in an epoch the member never saw (another node's local epoch during a Redis outage). */
  excusedUnseenEpoch: number;
  losses: number;
  /** Within one epoch: a failure. */
  duplicates: number;
  /** A message delivered again in another epoch, after the member was told of the change. */
  redeliveredAcrossEpochs: number;
  reorderings: number;
  crossings: number;
  /** A few examples of each failure, to start debugging from. */
  examples: string[];
}

const key = (client: string, room: string) => `${client}\u0000${room}`;

export class DeliveryLedger {
  private readonly streams = new Map<string, StreamEvent[]>();
  private readonly messages = new Map<string, Published>();
  private readonly members = new Map<string, Set<string>>();
  private crossings = 0;
  private readonly crossingExamples: string[] = [];

  /** A message id for `sender` in `room`, as the chat content: it names both, to catch crossings. */
  static contentId(room: string, sender: string, n: number): string {
    return `${room}|${sender}|${n}`;
  }

  /** `client` is a member of `room` from `room_joined` at (`seq`, `epoch`) to the end of the run. */
  joined(client: string, room: string, seq: number, epoch: string, at = Date.now()): void {
    let members = this.members.get(room);
    if (!members) this.members.set(room, (members = new Set()));
    members.add(client);
    this.stream(client, room).push({ kind: 'notice', at, epoch, seq });
  }

  sent(id: string, room: string, at = Date.now()): void {
    this.messages.set(id, { id, room, sentAt: at, acked: false });
  }

  /** The sender's `chat()` resolved: the server accepted the message. */
  acknowledged(id: string): void {
    const message = this.messages.get(id);
    if (message) message.acked = true;
  }

  /** The client was told its position moved: `resume_failed`, or an epoch change on a frame (`seq` undefined). */
  told(client: string, room: string, epoch: string | undefined, seq: number | undefined, at = Date.now()): void {
    const stream = this.stream(client, room);
    // A resume_failed without a position (the server refused the resume): everything so far is excused.
    stream.push({ kind: 'notice', at, epoch: epoch ?? '', seq: epoch === undefined ? undefined : seq });
  }

  /** The SDK handed `client` a `chat_message` (after its own de-duplication). */
  delivered(client: string, userOf: (client: string) => string, frame: ChatFrame): void {
    const { room, seq, epoch } = frame;
    const [idRoom, sender] = frame.content.split('|');
    const crossed =
      idRoom !== room ||
      frame.roomId !== room ||
      userOf(sender) !== frame.userId ||
      !this.members.get(room)?.has(client);
    if (crossed) {
      this.crossings++;
      if (this.crossingExamples.length < 5)
        this.crossingExamples.push(`crossing: ${client} got ${JSON.stringify(frame)}`);
      return;
    }
    this.stream(client, room).push({ kind: 'delivery', epoch, seq, id: frame.content });
    let message = this.messages.get(frame.content);
    if (!message)
      this.messages.set(frame.content, (message = { id: frame.content, room, sentAt: Date.now(), acked: false }));
    message.epoch ??= epoch;
    message.seq ??= seq;
  }

  /** Every member × every published message of its room, judged (see the class comment). */
  judge(): LedgerReport {
    const report: LedgerReport = {
      published: 0,
      acknowledged: 0,
      expected: 0,
      delivered: 0,
      excused: 0,
      excusedUnseenEpoch: 0,
      losses: 0,
      duplicates: 0,
      redeliveredAcrossEpochs: 0,
      reorderings: 0,
      crossings: this.crossings,
      examples: [...this.crossingExamples],
    };
    const byRoom = new Map<string, Published[]>();
    for (const message of this.messages.values()) {
      // Sent, refused or timed out, and delivered to nobody: it may never have been published.
      if (!message.acked && message.epoch === undefined) continue;
      report.published++;
      if (message.acked) report.acknowledged++;
      let list = byRoom.get(message.room);
      if (!list) byRoom.set(message.room, (list = []));
      list.push(message);
    }
    const example = (text: string) => {
      if (report.examples.length < 20) report.examples.push(text);
    };
    for (const [room, members] of this.members) {
      const messages = byRoom.get(room) ?? [];
      const positions = new Set(messages.map((m) => `${m.epoch}:${m.seq}`));
      // When each epoch of the room began (its first message sent): see MemberView.excuses.
      const epochStart = new Map<string, number>();
      for (const m of messages) {
        if (m.epoch !== undefined) epochStart.set(m.epoch, Math.min(m.sentAt, epochStart.get(m.epoch) ?? Infinity));
      }
      for (const client of members) {
        const view = new MemberView(this.stream(client, room));
        report.reorderings += view.reorderings;
        if (view.reorderings > 0) example(`reordering: ${client} in ${room}`);
        // A skipped seq that no member delivered and no sender saw acknowledged: judged here,
        // since it is not among the messages below.
        for (const gap of view.gaps) {
          if (positions.has(gap)) continue;
          report.losses++;
          example(`loss: ${client} skipped ${room} ${gap}, a message nobody delivered`);
        }
        for (const message of messages) {
          report.expected++;
          const count = view.count(message.id);
          if (count > 0) {
            report.delivered++;
            const epochs = new Set(view.positions.get(message.id)?.map((at) => at.slice(0, at.lastIndexOf(':'))));
            if (count > 1 && epochs.size === count) {
              // Each copy in another epoch, so the member was told between them (epoch_changed:
              // "reload, your position is meaningless"); see README.md. Counted, not a failure.
              report.redeliveredAcrossEpochs += count - 1;
              example(
                `re-delivered in a new epoch: ${client} got ${message.id} at ${view.positions.get(message.id)?.join(' and ')}`,
              );
            } else if (count > 1) {
              report.duplicates += count - 1;
              example(
                `duplicate: ${client} got ${message.id} ${count} times, at ${view.positions.get(message.id)?.join(' and ')}`,
              );
            }
          } else if (view.excuses(message, epochStart)) {
            report.excused++;
            if (message.epoch !== undefined && !view.saw(message.epoch)) report.excusedUnseenEpoch++;
          } else {
            report.losses++;
            example(
              `loss: ${client} never got ${message.id} (${message.epoch}/${message.seq}, acked ${message.acked})`,
            );
          }
        }
      }
    }
    return report;
  }

  private stream(client: string, room: string): StreamEvent[] {
    let stream = this.streams.get(key(client, room));
    if (!stream) this.streams.set(key(client, room), (stream = []));
    return stream;
  }
}

/** A `chat_message` as a member delivered it. */
export interface ChatFrame {
  room: string;
  seq: number;
  epoch: string;
  roomId: string;
  userId: string;
  content: string;
}

/** One member's stream in one room, indexed for judging. */
class MemberView {
  readonly reorderings: number;
  /** `epoch:seq` skipped between two deliveries of one epoch with no notice between them. */
  readonly gaps: string[] = [];
  private readonly counts = new Map<string, number>();
  /** Where each message was delivered (`epoch:seq`), to tell duplicates apart. */
  readonly positions = new Map<string, string[]>();
  /** Per epoch: the highest seq the member was told it would not get. */
  private readonly toldUpTo = new Map<string, number>();
  /** Epochs the member left (told of another one after it): seqs past its last delivery there are excused. */
  private readonly leftAfter = new Map<string, number>();
  private readonly seen = new Set<string>();
  private readonly epochChangeTimes: number[] = [];

  constructor(stream: StreamEvent[]) {
    let reorderings = 0;
    let epoch: string | undefined;
    let last = 0;
    let first = true;
    for (const event of stream) {
      if (event.kind === 'delivery') {
        this.counts.set(event.id, (this.counts.get(event.id) ?? 0) + 1);
        this.positions.set(event.id, [...(this.positions.get(event.id) ?? []), `${event.epoch}:${event.seq}`]);
        if (event.epoch !== epoch) {
          // A new epoch on a frame (the SDK reports it): everything below this frame is excused.
          if (epoch !== undefined) this.leave(epoch, last);
          this.tell(event.epoch, event.seq - 1);
          epoch = event.epoch;
        } else if (event.seq <= last) reorderings++;
        else for (let missing = last + 1; missing < event.seq; missing++) this.gaps.push(`${event.epoch}:${missing}`);
        last = Math.max(last, event.seq);
        this.seen.add(event.epoch);
        continue;
      }
      if (!first && event.epoch !== epoch) this.epochChangeTimes.push(event.at);
      if (event.seq === undefined || event.epoch === '') {
        // Told without a position: everything up to now in the current epoch is excused.
        this.epochChangeTimes.push(event.at);
        if (epoch !== undefined) this.leave(epoch, last);
        epoch = undefined;
        last = 0;
      } else {
        if (epoch !== undefined && event.epoch !== epoch) this.leave(epoch, last);
        this.tell(event.epoch, event.seq);
        if (event.epoch !== epoch) last = event.seq;
        else last = Math.max(last, event.seq);
        epoch = event.epoch;
        this.seen.add(event.epoch);
      }
      first = false;
    }
    this.reorderings = reorderings;
  }

  count(id: string): number {
    return this.counts.get(id) ?? 0;
  }

  saw(epoch: string): boolean {
    return this.seen.has(epoch);
  }

  excuses(message: Published, epochStart: Map<string, number>): boolean {
    if (message.epoch === undefined || message.seq === undefined || !this.seen.has(message.epoch)) {
      // An epoch this member never saw — a node-local epoch of another node during a Redis
      // outage, whose publications never reach the other nodes (README.md, "Redis outage") — or
      // a position nobody saw: excused only if the member was told of an epoch change after that
      // epoch began (the nodes come back from the outage at slightly different times, so the
      // member's own change may come before the last message of another node's local epoch).
      const since = message.epoch === undefined ? message.sentAt : (epochStart.get(message.epoch) ?? message.sentAt);
      return this.epochChangeTimes.some((at) => at >= since);
    }
    if (message.seq <= (this.toldUpTo.get(message.epoch) ?? 0)) return true;
    const left = this.leftAfter.get(message.epoch);
    return left !== undefined && message.seq > left;
  }

  private tell(epoch: string, seq: number): void {
    this.toldUpTo.set(epoch, Math.max(seq, this.toldUpTo.get(epoch) ?? 0));
  }

  private leave(epoch: string, last: number): void {
    this.leftAfter.set(epoch, Math.min(last, this.leftAfter.get(epoch) ?? Infinity));
  }
}
