import { describe, expect, it } from 'vitest';
import type { PaymentView } from './api';
import { fractionLeft, mergeView, needsAttention, resultKind, secondsLeft, showsCountdown } from './payment';
import { paymentFixture } from './testFixtures';

/** A payment code payment waiting for the customer to confirm on the phone. */
function view(p: Partial<PaymentView>): PaymentView {
  return paymentFixture({
    channel: 'demo',
    phase: 'waiting',
    phaseText: '等待顾客付款',
    codeMasked: '2801**********2345',
    deadlineAtMs: 61_000,
    message: '请顾客在手机上确认付款',
    customerMessage: '请顾客在手机上确认付款',
    createdAtMs: 1_000,
    ...p,
  });
}

describe('payment helpers', () => {
  it('picks the result screen from final/state/phase', () => {
    expect(resultKind(view({}))).toBeNull();
    expect(resultKind(view({ final: true, state: 'paid', phase: 'done' }))).toBe('success');
    for (const state of ['failed', 'closed', 'reversed'] as const) {
      expect(resultKind(view({ final: true, state, phase: 'done' }))).toBe('failure');
    }
    expect(resultKind(view({ state: 'unknown', phase: 'not_confirmed' }))).toBe('not_confirmed');
  });

  it('never replaces a final view with a late non-final one', () => {
    const paid = view({ final: true, state: 'paid', phase: 'done' });
    const waiting = view({});
    expect(mergeView(paid, waiting)).toBe(paid);
    expect(mergeView(waiting, paid)).toBe(paid);
    expect(mergeView(undefined, waiting)).toBe(waiting);
    const late = view({ final: true, state: 'paid', phase: 'done', late: true });
    expect(mergeView(paid, late)).toBe(late);
  });

  it('never takes a payment back to an earlier phase', () => {
    const waiting = view({});
    const checking = view({ state: 'unknown', phase: 'checking' });
    const cancelling = view({ phase: 'cancelling' });
    const notConfirmed = view({ phase: 'not_confirmed' });
    // cancel_payment's answer (cancelling) arriving after the driver's "not confirmed"
    expect(mergeView(notConfirmed, cancelling)).toBe(notConfirmed);
    expect(mergeView(notConfirmed, waiting)).toBe(notConfirmed);
    expect(mergeView(cancelling, waiting)).toBe(cancelling);
    expect(mergeView(cancelling, notConfirmed)).toBe(notConfirmed);
    // waiting and checking alternate while the core asks the channel
    expect(mergeView(waiting, checking)).toBe(checking);
    expect(mergeView(checking, waiting)).toBe(waiting);
    // a newer view of the same phase replaces the older (a new message, a new deadline)
    const later = view({ message: '正在查询' });
    expect(mergeView(waiting, later)).toBe(later);
    // another payment's view is never compared
    expect(mergeView(notConfirmed, view({ id: 'T2', phase: 'waiting' })).id).toBe('T2');
  });

  it('counts seconds left and the bar fraction', () => {
    expect(secondsLeft(61_000, 1_000)).toBe(60);
    expect(secondsLeft(61_000, 1_001)).toBe(60);
    expect(secondsLeft(61_000, 60_500)).toBe(1);
    expect(secondsLeft(61_000, 70_000)).toBe(0);
    expect(fractionLeft(61_000, 1_000, 31_000)).toBe(0.5);
    expect(fractionLeft(61_000, 1_000, 99_000)).toBe(0);
    expect(fractionLeft(61_000, 61_000, 0)).toBe(0);
  });

  it('shows the countdown only while waiting or checking', () => {
    expect(showsCountdown(view({ phase: 'waiting' }))).toBe(true);
    expect(showsCountdown(view({ phase: 'checking' }))).toBe(true);
    expect(showsCountdown(view({ phase: 'sending' }))).toBe(false);
    expect(showsCountdown(view({ phase: 'cancelling' }))).toBe(false);
    expect(showsCountdown(view({ phase: 'waiting', deadlineAtMs: null }))).toBe(false);
  });

  it('flags late and unknown rows', () => {
    expect(needsAttention(view({ state: 'unknown' }))).toBe(true);
    expect(needsAttention(view({ state: 'paid', final: true, late: true }))).toBe(true);
    expect(needsAttention(view({ state: 'paid', final: true }))).toBe(false);
  });
});
