import { describe, expect, it } from '@jest/globals';
import { type ChatFrame, DeliveryLedger } from './delivery-ledger.js';

const userOf = (client: string) => `user-${client}`;

/** A ledger with `members` in room `r` from seq 0 of epoch `e1`. */
function ledgerWith(...members: string[]): DeliveryLedger {
  const ledger = new DeliveryLedger();
  for (const member of members) ledger.joined(member, 'r', 0, 'e1', 0);
  return ledger;
}

function frame(seq: number, n: number, epoch = 'e1', sender = 'a'): ChatFrame {
  return {
    room: 'r',
    roomId: 'r',
    seq,
    epoch,
    userId: userOf(sender),
    content: DeliveryLedger.contentId('r', sender, n),
  };
}

/** `sender` sent message n and had it acknowledged. */
function acked(ledger: DeliveryLedger, n: number, sender = 'a', at = 10): void {
  const id = DeliveryLedger.contentId('r', sender, n);
  ledger.sent(id, 'r', at);
  ledger.acknowledged(id);
}

describe('DeliveryLedger (the soak test judge)', () => {
  it('counts nothing wrong when every member delivers every message once, in order', () => {
    const ledger = ledgerWith('a', 'b');
    for (let n = 1; n <= 3; n++) {
      acked(ledger, n);
      for (const member of ['a', 'b']) ledger.delivered(member, userOf, frame(n, n));
    }
    expect(ledger.judge()).toMatchObject({ published: 3, expected: 6, delivered: 6, losses: 0, duplicates: 0 });
  });

  it('counts an acknowledged message a member never got as a loss', () => {
    const ledger = ledgerWith('a', 'b');
    acked(ledger, 1);
    ledger.delivered('a', userOf, frame(1, 1));
    expect(ledger.judge()).toMatchObject({ losses: 1, delivered: 1 });
  });

  it('counts a seq skipped in one epoch as a loss even when nobody delivered it', () => {
    const ledger = ledgerWith('b');
    ledger.delivered('b', userOf, frame(1, 1));
    ledger.delivered('b', userOf, frame(3, 3));
    expect(ledger.judge()).toMatchObject({ losses: 1 });
  });

  it('counts duplicates and reorderings', () => {
    const ledger = ledgerWith('b');
    ledger.delivered('b', userOf, frame(1, 1));
    ledger.delivered('b', userOf, frame(2, 2));
    ledger.delivered('b', userOf, frame(2, 2));
    ledger.delivered('b', userOf, frame(1, 1));
    expect(ledger.judge()).toMatchObject({ duplicates: 2, reorderings: 2 });
  });

  it('counts a copy in a new epoch, after the epoch change was told, as a re-delivery rather than a duplicate', () => {
    const ledger = ledgerWith('b');
    ledger.delivered('b', userOf, frame(1, 1, 'local'));
    ledger.told('b', 'r', 'e2', undefined, 30);
    ledger.delivered('b', userOf, frame(7, 1, 'e2'));
    expect(ledger.judge()).toMatchObject({ duplicates: 0, redeliveredAcrossEpochs: 1 });
  });

  it('excuses what a resume_failed position covers, and no more', () => {
    const ledger = ledgerWith('a', 'b');
    for (let n = 1; n <= 4; n++) {
      acked(ledger, n);
      ledger.delivered('a', userOf, frame(n, n));
    }
    ledger.delivered('b', userOf, frame(1, 1));
    ledger.told('b', 'r', 'e1', 3, 20); // history_expired: goes on after 3
    expect(ledger.judge()).toMatchObject({ excused: 2, losses: 1 }); // 4 is still owed to b
  });

  it('excuses the rest of an epoch a member was told it left, and what came before its first frame in the new one', () => {
    const ledger = ledgerWith('a', 'b');
    acked(ledger, 1);
    ledger.delivered('a', userOf, frame(1, 1));
    acked(ledger, 2);
    ledger.delivered('a', userOf, frame(2, 2));
    acked(ledger, 3);
    ledger.delivered('a', userOf, frame(1, 3, 'e2'));
    acked(ledger, 4);
    ledger.delivered('a', userOf, frame(2, 4, 'e2'));
    ledger.delivered('b', userOf, frame(1, 1));
    ledger.told('b', 'r', 'e2', undefined, 30); // the SDK's epoch_changed on a frame
    ledger.delivered('b', userOf, frame(2, 4, 'e2'));
    expect(ledger.judge()).toMatchObject({ delivered: 6, excused: 2, losses: 0 });
  });

  it('excuses a message of an epoch a member never saw only if it was told of an epoch change after it', () => {
    const told = ledgerWith('a', 'b');
    const silent = ledgerWith('a', 'b');
    for (const ledger of [told, silent]) {
      acked(ledger, 1, 'a', 50);
      ledger.delivered('a', userOf, frame(1, 1, 'local-a'));
    }
    told.told('b', 'r', 'e2', 0, 60);
    expect(told.judge()).toMatchObject({ excused: 1, losses: 0 });
    expect(silent.judge()).toMatchObject({ excused: 0, losses: 1 });
  });

  it("excuses a message of another node's local epoch when the member was told of an epoch change after that epoch began", () => {
    const ledger = ledgerWith('a', 'b');
    acked(ledger, 1, 'a', 40);
    ledger.delivered('a', userOf, frame(1, 1, 'local-a'));
    ledger.told('b', 'r', 'e2', 0, 45); // b's own node came back from the outage first
    acked(ledger, 2, 'a', 50);
    ledger.delivered('a', userOf, frame(2, 2, 'local-a'));
    expect(ledger.judge()).toMatchObject({ excused: 2, excusedUnseenEpoch: 2, losses: 0 });
  });

  it('counts a frame of another room or with another user id as a crossing', () => {
    const ledger = ledgerWith('a', 'b');
    ledger.delivered('b', userOf, { ...frame(1, 1), userId: 'user-b' });
    ledger.delivered('b', userOf, { ...frame(2, 2), room: 'other', roomId: 'other' });
    expect(ledger.judge()).toMatchObject({ crossings: 2 });
  });
});
