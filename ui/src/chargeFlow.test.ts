// Which charge the screen follows, and what a charge prefers (pure helpers of chargeFlow.ts).
import { describe, expect, it } from 'vitest';
import { canDismiss, chargeFromBoot, enterAction, nextCharge, openCharge, preferredChannel } from './chargeFlow';
import { abcChannel, chargeFixture } from './testFixtures';
import type { Channel } from './api';

const open = chargeFixture();
const paying = chargeFixture({ state: 'paying', stateText: '收款中', paymentId: 'T1' });
const paid = chargeFixture({ state: 'paid', stateText: '已收款', final: true, paymentId: 'T1' });
const cancelled = chargeFixture({ state: 'cancelled', stateText: '已取消', final: true });
const other = chargeFixture({ id: 'CH0002', externalOrderId: 'ORD-779', amountText: '9.90' });

describe('nextCharge', () => {
  it('takes a charge when none is followed, and every update of the one followed', () => {
    expect(nextCharge(null, open)).toBe(open);
    expect(nextCharge(open, paying)).toBe(paying);
    expect(nextCharge(paying, paid)).toBe(paid);
  });

  it('never makes a final charge unfinished again (late or reordered updates)', () => {
    expect(nextCharge(paid, paying)).toBe(paid);
    expect(nextCharge(cancelled, open)).toBe(cancelled);
    // a final update of a final charge (e.g. re-localized) is taken
    const en = { ...paid, stateText: 'Paid' };
    expect(nextCharge(paid, en)).toBe(en);
  });

  it('ignores another charge while the one followed is unfinished', () => {
    expect(nextCharge(open, other)).toBe(open);
    expect(nextCharge(paying, other)).toBe(paying);
  });

  it('takes another charge once the one followed is final', () => {
    expect(nextCharge(paid, other)).toBe(other);
    expect(nextCharge(cancelled, other)).toBe(other);
  });

  it('does not take up a final charge nobody followed', () => {
    expect(nextCharge(null, cancelled)).toBeNull();
    expect(nextCharge(paid, { ...other, final: true, state: 'cancelled' })).toBe(paid);
  });
});

describe('chargeFromBoot', () => {
  it('takes the core’s unfinished charge', () => {
    expect(chargeFromBoot(null, open)).toBe(open);
    expect(chargeFromBoot(other, open)).toBe(open);
  });

  it('keeps a final charge whose result is still on screen, drops an unfinished one the core no longer has', () => {
    expect(chargeFromBoot(paid, null)).toBe(paid);
    expect(chargeFromBoot(open, null)).toBeNull();
    expect(chargeFromBoot(open, undefined)).toBeNull();
    const en = { ...paid, stateText: 'Paid' };
    expect(chargeFromBoot(paid, en)).toBe(en);
    expect(chargeFromBoot(null, paid)).toBeNull();
  });
});

describe('what a charge allows and prefers', () => {
  it('collects only an unfinished charge; Dismiss not while cancelling', () => {
    expect(openCharge(open)).toBe(open);
    expect(openCharge(paid)).toBeNull();
    expect(openCharge(null)).toBeNull();
    expect(canDismiss(open)).toBe(true);
    expect(canDismiss(paying)).toBe(true);
    expect(canDismiss(chargeFixture({ state: 'cancelling' }))).toBe(false);
    expect(canDismiss(cancelled)).toBe(false);
    expect(canDismiss(null)).toBe(false);
  });

  it('prefers a channel only when the core offers it', () => {
    const lakala: Channel = { ...abcChannel, id: 'lakala', name: '拉卡拉' };
    expect(preferredChannel([abcChannel, lakala], chargeFixture({ channel: 'lakala' }))).toBe('lakala');
    expect(preferredChannel([abcChannel], chargeFixture({ channel: 'lakala' }))).toBeNull();
    expect(preferredChannel([abcChannel], open)).toBeNull();
    expect(preferredChannel([abcChannel], null)).toBeNull();
  });

  it('Enter starts the QR only when the charge prefers it and the channel can', () => {
    expect(enterAction({ barcode: true, qr: true }, 'qr')).toBe('qr');
    expect(enterAction({ barcode: true, qr: false }, 'qr')).toBe('scan');
    expect(enterAction({ barcode: true, qr: true }, 'code')).toBe('scan');
    expect(enterAction({ barcode: true, qr: true }, null)).toBe('scan');
    expect(enterAction(null, 'qr')).toBe('scan');
  });
});
