import { WebSocket, type RawData } from 'ws';
import { RealtimeClient } from '../../lib/client/index.js';
import { DeliveryLedger } from './delivery-ledger.js';

/** How the fleet is shaped and paced. */
export interface FleetOptions {
  clients: number;
  rooms: number;
  roomsPerClient: number;
  /** Chats per second, over the whole fleet. */
  messagesPerSecond: number;
  /** Chats a client may have awaiting their acknowledgement (pipelined). */
  pipeline: number;
  /** A node for each connection attempt (the SDK's `url` function): a live one, at random. */
  pickUrl: () => string;
  /** A signed token for `userId`. */
  token: (userId: string) => string;
}

interface FleetClient {
  id: string;
  userId: string;
  client: RealtimeClient;
  rooms: string[];
  sent: number;
  inFlight: number;
}

/** What the fleet counted besides the ledger's judgement. */
export interface FleetFigures {
  sent: number;
  acknowledged: number;
  /** Chats the server refused or that got no answer, by reason (`ConnectionLostError`, `RATE_LIMITED`, ...). */
  unacknowledged: Record<string, number>;
  reconnects: number;
  resumeFailed: Record<string, number>;
  /** Room frames a connection received twice or out of order before the SDK's de-duplication. */
  wireDuplicates: number;
  wireReorderings: number;
  /** `error` events of the SDK (malformed frames, refused tokens, ...), by message. */
  clientErrors: Record<string, number>;
}

const bump = (counts: Record<string, number>, key: string) => (counts[key] = (counts[key] ?? 0) + 1);

/**
 * Hundreds of SDK clients, each a user of its own in a few of many rooms, chatting pipelined,
 * reconnecting and resuming by themselves through the faults. Every chat and every delivery goes
 * to the {@link DeliveryLedger}; each connection's raw room frames are also watched before the
 * SDK's de-duplication, so a server that sends a frame twice is seen even though the app is not.
 */
export class ClientFleet {
  readonly ledger = new DeliveryLedger();
  private readonly members: FleetClient[] = [];
  private readonly userOf = new Map<string, string>();
  private traffic: NodeJS.Timeout | undefined;
  private credit = 0;
  private readonly figures: FleetFigures = {
    sent: 0,
    acknowledged: 0,
    unacknowledged: {},
    reconnects: 0,
    resumeFailed: {},
    wireDuplicates: 0,
    wireReorderings: 0,
    clientErrors: {},
  };

  constructor(private readonly options: FleetOptions) {}

  get size(): number {
    return this.members.length;
  }

  /** Connects every client (a few at a time) and joins its rooms. */
  async connect(): Promise<void> {
    const { clients, rooms, roomsPerClient } = this.options;
    for (let i = 0; i < clients; i++) {
      const id = `c${i}`;
      // Rooms spread evenly: each room gets about clients × roomsPerClient / rooms members.
      const picked = Array.from({ length: roomsPerClient }, (_, k) => `room-${(i * 7 + k * 13) % rooms}`);
      const member = this.create(id, `soak-u${i}`, [...new Set(picked)]);
      this.members.push(member);
    }
    const batch = 20;
    for (let i = 0; i < this.members.length; i += batch) {
      await Promise.all(
        this.members.slice(i, i + batch).map(async (member) => {
          await member.client.connect();
          for (const room of member.rooms) await member.client.join(room);
        }),
      );
    }
  }

  /** Starts chatting at `messagesPerSecond`, from open clients with room in their pipeline. */
  startTraffic(): void {
    const tickMs = 50;
    this.traffic = setInterval(() => {
      this.credit += (this.options.messagesPerSecond * tickMs) / 1000;
      for (let attempts = 0; this.credit >= 1 && attempts < 50; attempts++) {
        const member = this.members[Math.floor(Math.random() * this.members.length)];
        if (member.client.state !== 'open' || member.inFlight >= this.options.pipeline) continue;
        this.credit--;
        this.chat(member, member.rooms[Math.floor(Math.random() * member.rooms.length)]);
      }
      this.credit = Math.min(this.credit, this.options.messagesPerSecond); // no burst after a stall
    }, tickMs);
  }

  stopTraffic(): void {
    clearInterval(this.traffic);
    this.traffic = undefined;
  }

  /** One last acknowledged chat in every room, so every member sees each room's final epoch. */
  async finalRound(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const byRoom = new Map<string, FleetClient[]>();
    for (const member of this.members) {
      for (const room of member.rooms) byRoom.set(room, [...(byRoom.get(room) ?? []), member]);
    }
    await Promise.all(
      [...byRoom].map(async ([room, members]) => {
        for (let attempt = 0; Date.now() < deadline; attempt++) {
          if (await this.chat(members[attempt % members.length], room)) return;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }),
    );
  }

  /** True once every client is open (reconnected and resumed after the last fault). */
  allOpen(): boolean {
    return this.members.every((member) => member.client.state === 'open');
  }

  async disconnect(): Promise<void> {
    await Promise.all(this.members.map((member) => member.client.disconnect()));
  }

  report(): FleetFigures {
    this.figures.reconnects = this.members.reduce((sum, member) => sum + member.client.reconnects, 0);
    return this.figures;
  }

  /** Sends one chat; resolves true when acknowledged. */
  private async chat(member: FleetClient, room: string): Promise<boolean> {
    const id = DeliveryLedger.contentId(room, member.id, ++member.sent);
    this.ledger.sent(id, room);
    this.figures.sent++;
    member.inFlight++;
    try {
      await member.client.chat(room, id);
      this.ledger.acknowledged(id);
      this.figures.acknowledged++;
      return true;
    } catch (error) {
      const code = (error as { code?: string }).code;
      bump(this.figures.unacknowledged, code ?? (error as Error).name ?? 'Error');
      return false;
    } finally {
      member.inFlight--;
    }
  }

  private create(id: string, userId: string, rooms: string[]): FleetClient {
    this.userOf.set(id, userId);
    const userOf = (client: string) => this.userOf.get(client) ?? '?';
    const watch = (positions: Map<string, { epoch: string; seq: number }>, raw: RawData) => this.watch(positions, raw);
    /** Every raw frame of this client's connections, before the SDK. */
    class WatchedWebSocket extends WebSocket {
      constructor(url: string) {
        super(url);
        const positions = new Map<string, { epoch: string; seq: number }>();
        this.on('message', (raw: RawData) => watch(positions, raw));
      }
    }
    const client = new RealtimeClient({
      url: this.options.pickUrl,
      WebSocket: WatchedWebSocket as never,
      token: () => this.options.token(userId),
      reconnect: { baseDelay: 250, maxDelay: 3000 },
      requestTimeout: 20_000,
    });
    const joined = new Set<string>();
    client.on('room_joined', (data) => {
      // Only the first join is where the member's accounting starts; a re-join after a
      // reconnect never moves a known position (the SDK keeps it), so it is no notice.
      if (joined.has(data.room_id)) return;
      joined.add(data.room_id);
      this.ledger.joined(id, data.room_id, data.seq ?? 0, data.epoch ?? '');
    });
    client.on('chat_message', (data, envelope) => {
      this.ledger.delivered(id, userOf, {
        room: envelope.room ?? '',
        seq: envelope.seq ?? -1,
        epoch: envelope.epoch ?? '',
        roomId: data.room_id,
        userId: data.user_id,
        content: data.content,
      });
    });
    client.onEvent('resume_failed', (event) => {
      bump(this.figures.resumeFailed, event.reason);
      this.ledger.told(id, event.room_id, event.epoch, event.seq);
    });
    client.onEvent('error', ({ error }) => bump(this.figures.clientErrors, error.message.slice(0, 80)));
    return { id, userId, client, rooms, sent: 0, inFlight: 0 };
  }

  /** Checks one connection's raw room frames: per room, seq goes up within an epoch. */
  private watch(positions: Map<string, { epoch: string; seq: number }>, raw: RawData): void {
    const text = raw.toString();
    if (!text.includes('"seq"')) return;
    const frame = JSON.parse(text) as { room?: string; seq?: number; epoch?: string };
    if (typeof frame.room !== 'string' || typeof frame.seq !== 'number' || typeof frame.epoch !== 'string') return;
    const last = positions.get(frame.room);
    if (last && last.epoch === frame.epoch && frame.seq <= last.seq) {
      if (frame.seq === last.seq) this.figures.wireDuplicates++;
      else this.figures.wireReorderings++;
      return;
    }
    positions.set(frame.room, { epoch: frame.epoch, seq: frame.seq });
  }
}
