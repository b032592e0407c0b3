import { describe, expect, it, jest } from '@jest/globals';
import {
  ClusterAdapter,
  type ClusterHost,
  type ClusterHistory,
  type ClusterPresenceEntry,
  type LocalSequencer,
  type RoomBroadcast,
  type RoomFrame,
  roomFrameParts,
  type Sequenced,
} from '../../../lib/cluster/cluster.adapter.js';

/**
 * The publication protocol lives in the ClusterAdapter base: these tests run it over the smallest
 * transport there is, an in-process bus that hands every publication to every adapter (the
 * publisher's own included, as Redis pub/sub does), with channels named `room:<id>`/`user:<id>`.
 */
class Bus {
  readonly adapters: LoopbackAdapter[] = [];
  deliver(channel: string, message: string): void {
    for (const adapter of this.adapters) adapter.fromBus(channel, message);
  }
}

class LoopbackAdapter extends ClusterAdapter {
  readonly status = 'up' as const;
  readonly roomFrames: [string, RoomFrame][] = [];

  constructor(private readonly bus: Bus) {
    super();
    bus.adapters.push(this);
  }

  fromBus(channel: string, message: string): void {
    this.receive(channel, message);
  }

  /** A room frame as a transport publishes it: the base's header, then the frame. */
  publishRoomFrame(roomId: string, frame: string, except: string | undefined, trace?: string): void {
    this.bus.deliver(`room:${roomId}`, this.roomFrameHeader(except, trace) + frame);
  }

  publishPresence(roomId: string, frame: string, except: string | undefined): void {
    this.bus.deliver(`room:${roomId}`, this.presenceHeader(except) + frame);
  }

  protected transmit(kind: 'U' | 'A' | 'K', userId: string | undefined, publication: string): void {
    this.bus.deliver(kind === 'U' ? `user:${userId}` : kind === 'A' ? 'all' : 'kick', publication);
  }

  protected roomOf(channel: string): string | undefined {
    return channel.startsWith('room:') ? channel.slice(5) : undefined;
  }

  protected userOf(channel: string): string | undefined {
    return channel.startsWith('user:') ? channel.slice(5) : undefined;
  }

  protected receivedRoomFrame(roomId: string, frame: RoomFrame): void {
    this.roomFrames.push([roomId, frame]);
    this.deliverRoomFrame(roomId, frame);
  }

  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  /** What the transport answers a room publication (undefined: it cannot take it now). */
  publishRoomResult: () => Promise<Sequenced | undefined> = async () => undefined;
  publishRoom(): Promise<Sequenced | undefined> {
    return this.publishRoomResult();
  }
  async roomPosition(): Promise<Sequenced | undefined> {
    return undefined;
  }
  async roomHistory(): Promise<ClusterHistory | undefined> {
    return undefined;
  }
  saveSession(): void {}
  async sessionOwner(): Promise<string | undefined> {
    return undefined;
  }
  async watchRoom(): Promise<void> {}
  unwatchRoom(): void {}
  userArrived(): void {}
  userDeparted(): void {}
  async isUserOnlineElsewhere(): Promise<boolean> {
    return false;
  }
  presenceChanged(): void {}
  membersChanged(): void {}
  async presenceState(): Promise<ClusterPresenceEntry[] | undefined> {
    return undefined;
  }
  async roomCounts(): Promise<Map<string, number> | undefined> {
    return undefined;
  }
}

function host(nodeId: string) {
  return {
    nodeId,
    counters: { clusterPublished: 0, clusterReceived: 0 },
    deliverRoom: jest.fn<ClusterHost['deliverRoom']>(() => 0),
    deliverUser: jest.fn<ClusterHost['deliverUser']>(),
    deliverAll: jest.fn<ClusterHost['deliverAll']>(),
    disconnectUser: jest.fn<ClusterHost['disconnectUser']>(),
    deliverPresence: jest.fn<ClusterHost['deliverPresence']>(),
  };
}

function twoNodes() {
  const bus = new Bus();
  const a = new LoopbackAdapter(bus);
  const b = new LoopbackAdapter(bus);
  const hostA = host('node-a');
  const hostB = host('node-b');
  a.attach(hostA);
  b.attach(hostB);
  // Logged drops are expected here; keep the test output quiet.
  for (const adapter of [a, b])
    jest
      .spyOn((adapter as unknown as { logger: { warn(m: string): void } }).logger, 'warn')
      .mockImplementation(() => {});
  return { a, b, hostA, hostB };
}

describe('ClusterAdapter base (the publication protocol, whatever the transport)', () => {
  it('delivers user frames and announcements on the other nodes only: the publisher delivered its own', () => {
    const { a, hostA, hostB } = twoNodes();
    a.publishUser('alice', '{"type":"dm","data":1}');
    a.publishAll('{"type":"news"}');
    expect(hostB.deliverUser.mock.calls).toEqual([['alice', '{"type":"dm","data":1}']]);
    expect(hostB.deliverAll.mock.calls).toEqual([['{"type":"news"}']]);
    expect(hostA.deliverUser).not.toHaveBeenCalled();
    expect(hostA.deliverAll).not.toHaveBeenCalled();
  });

  it('kicks exactly the named user elsewhere, even when the id holds the separator', () => {
    const { a, hostA, hostB } = twoNodes();
    a.publishDisconnect('mallory\nalice', 'banned');
    expect(hostB.disconnectUser.mock.calls).toEqual([['mallory\nalice', 'banned']]);
    expect(hostA.disconnectUser).not.toHaveBeenCalled();
  });

  it('hands every node a checked room frame, its own included, with type, seq, epoch and except', () => {
    const { a, b } = twoNodes();
    const frame = '{"type":"chat","room":"lobby","seq":7,"epoch":"e1","data":"x\\ny"}';
    a.publishRoomFrame('lobby', frame, 'conn-1');
    const expected = [['lobby', { frame, type: 'chat', except: 'conn-1', seq: 7, epoch: 'e1' }]];
    expect(a.roomFrames).toEqual(expected);
    expect(b.roomFrames).toEqual(expected);
  });

  it("hands every node a room frame's trace context as published, and none for an untraced frame", () => {
    const { a, b } = twoNodes();
    const frame = '{"type":"chat","room":"lobby","seq":8,"epoch":"e1"}';
    const trace = '{"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}';
    a.publishRoomFrame('lobby', frame, undefined, trace);
    a.publishRoomFrame('lobby', frame.replace('8', '9'), undefined);
    for (const node of [a, b]) {
      expect(node.roomFrames.map(([, received]) => received.trace)).toEqual([trace, undefined]);
      expect(node.roomFrames[0][1]).toMatchObject({ frame, type: 'chat', seq: 8, epoch: 'e1' });
    }
  });

  it('keeps the excepted connection of a presence_diff only on the node it came from', () => {
    const { a, hostA, hostB } = twoNodes();
    const diff = '{"type":"presence_diff","room":"lobby","data":{}}';
    a.publishPresence('lobby', diff, 'conn-1');
    expect(hostA.deliverPresence.mock.calls).toEqual([['lobby', diff, 'conn-1']]);
    expect(hostB.deliverPresence.mock.calls).toEqual([['lobby', diff, undefined]]);
  });

  it('counts what it publishes and what it delivers from the cluster, not what it drops', () => {
    const { a, hostA, hostB } = twoNodes();
    a.publishUser('alice', '{"type":"dm"}');
    a.publishAll('{"type":"news"}');
    a.publishDisconnect('alice', 'banned');
    expect(hostA.counters).toEqual({ clusterPublished: 3, clusterReceived: 0 });
    expect(hostB.counters).toEqual({ clusterPublished: 0, clusterReceived: 3 });
    // Room frames and presence come back to their publisher too, and are delivered there.
    a.publishRoomFrame('lobby', '{"type":"chat","room":"lobby","seq":1,"epoch":"e1"}', undefined);
    a.publishPresence('lobby', '{"type":"presence_diff","room":"lobby","data":{}}', undefined);
    expect(hostA.counters.clusterReceived).toBe(2);
    expect(hostB.counters.clusterReceived).toBe(5);
    expect(hostA.deliverRoom).toHaveBeenCalledTimes(1);
  });

  it('broadcasts a room frame through the transport, counted once, for every node to deliver from the stream', async () => {
    const { a, hostA } = twoNodes();
    const local = { sequence: jest.fn<LocalSequencer['sequence']>(), current: jest.fn<LocalSequencer['current']>() };
    a.attach(hostA, local);
    a.publishRoomResult = async () => ({ seq: 5, epoch: 'e1' });
    expect(await a.broadcastRoom('lobby', roomBroadcast('one'))).toEqual({ seq: 5, epoch: 'e1', delivered: undefined });
    expect(hostA.counters.clusterPublished).toBe(1);
    expect(hostA.deliverRoom).not.toHaveBeenCalled();
    expect(local.sequence).not.toHaveBeenCalled();
  });

  it('delivers here alone, numbered by the local sequencer, what the transport cannot take — after the broadcast still in flight', async () => {
    const { a, hostA } = twoNodes();
    let seq = 0;
    const local: LocalSequencer = {
      sequence: (_roomId, parts) => {
        seq++;
        const text = parts.prefix + seq + parts.middle + 'local' + parts.suffix;
        return { seq, epoch: 'local', text, prepared: undefined };
      },
      current: () => ({ seq, epoch: 'local' }),
    };
    a.attach(hostA, local);
    hostA.deliverRoom.mockImplementation(() => 2);
    // The first publication is still on its way to failing when the second fails at once.
    let failFirst!: () => void;
    const first = new Promise<undefined>((resolve) => (failFirst = () => resolve(undefined)));
    a.publishRoomResult = () => first;
    const one = a.broadcastRoom('lobby', roomBroadcast('one'));
    a.publishRoomResult = async () => undefined;
    const two = a.broadcastRoom('lobby', roomBroadcast('two', 'conn-1'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(hostA.deliverRoom).not.toHaveBeenCalled();
    failFirst();
    expect(await one).toEqual({ seq: 1, epoch: 'local', delivered: 2 });
    expect(await two).toEqual({ seq: 2, epoch: 'local', delivered: 2 });
    expect(
      hostA.deliverRoom.mock.calls.map(([roomId, frame]) => [roomId, JSON.parse(frame.frame).data, frame.except]),
    ).toEqual([
      ['lobby', 'one', undefined],
      ['lobby', 'two', 'conn-1'],
    ]);
    // Both were handed to the cluster (and counted so); nothing came back from it.
    expect(hostA.counters).toEqual({ clusterPublished: 2, clusterReceived: 0 });
  });

  it('drops malformed publications without delivering or throwing anything', () => {
    const { a, b, hostB } = twoNodes();
    const bad: [string, string][] = [
      ['room:lobby', 'R\nnode-a\n\n{not json'],
      ['room:lobby', 'R\nnode-a\n\n{"type":"x","room":"elsewhere","seq":1,"epoch":"e"}'],
      ['room:lobby', 'R\nnode-a\n\n{"type":"x","room":"lobby","seq":"1","epoch":"e"}'],
      ['kick', 'R\nnode-a\n\n{"type":"x","room":"lobby","seq":1,"epoch":"e"}'],
      ['room:lobby', 'P\nnode-a\n\n{"type":"chat","room":"lobby"}'],
      ['all', 'A\nnode-a\n{"data":1}'],
      ['kick', 'U\nnode-a\n{"type":"dm"}'],
      ['kick', 'K\nnode-a\n{"user_id":1,"reason":"x"}'],
      ['all', 'Z\nnode-a\n{}'],
      ['all', ''],
    ];
    for (const [channel, message] of bad) expect(() => a.fromBus(channel, message)).not.toThrow();
    for (const [channel, message] of bad) b.fromBus(channel, message);
    expect(b.roomFrames).toEqual([]);
    expect(hostB.deliverPresence).not.toHaveBeenCalled();
    expect(hostB.deliverAll).not.toHaveBeenCalled();
    expect(hostB.deliverUser).not.toHaveBeenCalled();
    expect(hostB.disconnectUser).not.toHaveBeenCalled();
    expect(hostB.counters.clusterReceived).toBe(0);
  });
});

function roomBroadcast(data: string, except?: string): RoomBroadcast {
  return {
    parts: roomFrameParts('lobby', 'chat', data, '2030-01-01T00:00:00.000Z'),
    type: 'chat',
    except,
    history: { size: 10, ttl: 1000, maxBytes: 1000 },
  };
}
