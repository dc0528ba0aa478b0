// Small pure helpers about payment views. None of them computes money or decides a state: they
// only read what the core sent.

import type { PaymentView } from './api';

export type ResultKind = 'success' | 'failure' | 'not_confirmed';

/** Which result screen a view asks for, or null while the payment is still in progress. */
export function resultKind(v: Pick<PaymentView, 'final' | 'state' | 'phase'>): ResultKind | null {
  if (v.final) return v.state === 'paid' ? 'success' : 'failure';
  if (v.phase === 'not_confirmed') return 'not_confirmed';
  return null;
}

/** How far a payment has got, as the person at the counter sees it. The core only moves a payment
 * forward through these (waiting and checking alternate while it asks the channel; cancelling is
 * never taken back; a payment left "not confirmed" stays so until it is final). */
function progress(v: Pick<PaymentView, 'final' | 'phase'>): number {
  if (v.final) return 4;
  switch (v.phase) {
    case 'sending':
      return 0;
    case 'waiting':
    case 'checking':
      return 1;
    case 'cancelling':
      return 2;
    case 'not_confirmed':
      return 3;
    case 'done':
      return 4;
  }
}

/**
 * The view to keep when another one for the same payment arrives. Events and command replies travel
 * separately and may arrive out of order: `cancel_payment`'s answer, read before the driver gave up
 * on a channel that cannot close, can land after the driver's "not confirmed" event. A view that is
 * behind the one on screen is dropped, so the screen never goes back (to "cancelling…" forever). A
 * final view replaces a final one (a lapsed order paid late).
 */
export function mergeView(prev: PaymentView | undefined, next: PaymentView): PaymentView {
  if (prev && prev.id === next.id && progress(next) < progress(prev)) return prev;
  return next;
}

/** Keeps `v` as the latest view of its payment, newest last (a Map keeps the order things were put
 * in): beyond `limit` payments the one seen longest ago is forgotten. */
export function rememberView(views: Map<string, PaymentView>, v: PaymentView, limit: number): void {
  views.delete(v.id);
  views.set(v.id, v);
  if (views.size > limit) {
    const oldest = views.keys().next().value;
    if (oldest !== undefined) views.delete(oldest);
  }
}

/** Whole seconds left until `deadlineAtMs` (rounded up, never negative). */
export function secondsLeft(deadlineAtMs: number, nowMs: number): number {
  return Math.max(0, Math.ceil((deadlineAtMs - nowMs) / 1000));
}

/** Fraction of the wait that is left, 0…1, for the progress bar. */
export function fractionLeft(deadlineAtMs: number, startMs: number, nowMs: number): number {
  const total = deadlineAtMs - startMs;
  if (!(total > 0)) return 0;
  return Math.min(1, Math.max(0, (deadlineAtMs - nowMs) / total));
}

/** Whether the countdown and Cancel belong on screen for this phase. */
export function showsCountdown(v: Pick<PaymentView, 'phase' | 'deadlineAtMs'>): boolean {
  return (v.phase === 'waiting' || v.phase === 'checking') && v.deadlineAtMs !== null;
}

/** Rows that need a person's look: a late payment or one whose outcome is not known yet. */
export function needsAttention(v: Pick<PaymentView, 'late' | 'state'>): boolean {
  return v.late || v.state === 'unknown';
}

/** A copy of `list`, newest first (by when each payment was created). */
export function newestFirst<T extends Pick<PaymentView, 'createdAtMs'>>(list: readonly T[]): T[] {
  return [...list].sort((a, b) => b.createdAtMs - a.createdAtMs);
}
