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

/**
 * The view to keep when another one for the same payment arrives. Events and command replies travel
 * separately and may arrive out of order; a final view is never replaced by a non-final one (the
 * core moves a settled payment on only to "paid", which is final too).
 */
export function mergeView(prev: PaymentView | undefined, next: PaymentView): PaymentView {
  if (prev && prev.id === next.id && prev.final && !next.final) return prev;
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
