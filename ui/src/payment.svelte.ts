// The payment on screen (the payment overlay): its views as they arrive (kept in order, payment.ts),
// its countdown, the result sounds, "paid" going back to the keypad by itself, and the clerk's
// cancel, which takes two presses.

import { api, type PaymentView, type Today } from './api';
import { mergeView, rememberView, resultKind, type ResultKind } from './payment';
import { playSound } from './sounds';

/** a waiting payment is cancelled by a second Esc (or Cancel) within this long of the first */
export const CANCEL_CONFIRM_MS = 3_000;
const CACHE_LIMIT = 100;

export interface PaymentHost {
  /** a fresh view (or the first Esc): the clock on screen is set to the real time */
  tick(nowMs: number): void;
  /** a payment ended: today's list has changed */
  ended(): void;
  /** a view of this payment arrived (the detail on screen may show it) */
  updated(id: string): void;
  /** `[counter] paid_close_seconds` (0: "paid" closes on a key only) */
  paidCloseSeconds(): number;
  kiosk(): boolean;
  /** something is open over the main screen */
  covered(): boolean;
  /** the clerk left a result screen */
  finished(kind: ResultKind): void;
  errorText(e: unknown): string;
}

export class ActivePayment {
  view = $state<PaymentView | null>(null);
  error = $state<string | null>(null);
  cancelBusy = $state(false);
  /** the first Esc (or Cancel) on a payment under way asks for a second one until then */
  cancelArmedUntil = $state<number | null>(null);
  /** when "paid" goes back to the keypad by itself (for its countdown), or null */
  paidCloseAtMs = $state<number | null>(null);

  /** latest view of each payment seen (events and command replies), to order out-of-order arrivals */
  private views = new Map<string, PaymentView>();
  /** when the current countdown of a payment started: [deadlineAtMs, startMs] */
  private countdowns = new Map<string, [number, number]>();
  private sounded = new Set<string>();
  /** the "paid" screen's way back to the keypad */
  private paidCloseTimer: number | undefined;
  /** the payments the clerk cancelled on purpose: their end is "cancelled", not a failure */
  private cancelledByClerk = new Set<string>();

  constructor(private readonly host: PaymentHost) {}

  /** A `payment-update` or a command's answer about any payment. */
  update = (v: PaymentView): void => {
    const prev = this.views.get(v.id);
    const kept = mergeView(prev, v);
    this.remember(kept);
    if (this.view && this.view.id === kept.id) this.present(kept);
    if (kept.final && kept !== prev) this.host.ended();
    this.host.updated(kept.id);
  };

  /** Opens the payment overlay for a view a command returned (or bootstrap's `active`). */
  show = (v: PaymentView): void => {
    const kept = mergeView(this.views.get(v.id), v);
    this.remember(kept);
    this.error = null;
    this.present(kept);
    if (kept.final) this.host.ended();
  };

  /** The overlay closes without a word (what the kiosk had on its screen is not the clerk's). */
  drop(): void {
    this.view = null;
    this.error = null;
  }

  /** Re-localized message of a final payment on screen (e.g. after a language switch). */
  takeToday(t: Today): void {
    const a = this.view;
    if (a?.final) {
      const row = t.payments.find((p) => p.id === a.id);
      if (row?.final) this.present(row);
    }
  }

  /** Start of the countdown shown for the payment (ms), for the progress bar. */
  countdownStart = (v: PaymentView): number => {
    const cd = this.countdowns.get(v.id);
    return cd && cd[0] === v.deadlineAtMs ? cd[1] : v.createdAtMs;
  };

  /** Esc or Cancel on a payment under way: the first press asks ("press again to cancel"), a
   * second within CANCEL_CONFIRM_MS cancels; one stray key never drops a customer's payment. */
  requestCancel = (): void => {
    if (!this.cancellable()) return;
    const now = Date.now();
    if (this.cancelArmedUntil !== null && now < this.cancelArmedUntil) {
      this.cancelArmedUntil = null;
      void this.cancel();
      return;
    }
    this.host.tick(now);
    this.cancelArmedUntil = now + CANCEL_CONFIRM_MS;
  };

  /** The clerk cancelled this payment on purpose (its end shows as cancelled, not failed). */
  cancelledOnPurpose = (id: string): boolean => this.cancelledByClerk.has(id);

  cancel = async (): Promise<void> => {
    const a = this.view;
    if (!a || !this.cancellable()) return;
    this.cancelledByClerk.add(a.id);
    this.cancelArmedUntil = null;
    this.cancelBusy = true;
    this.error = null;
    try {
      const v = await api.cancelPayment(a.id);
      this.update(v);
    } catch (e) {
      this.error = this.host.errorText(e);
    } finally {
      this.cancelBusy = false;
    }
  };

  /** Leaves a result screen (the amount entry decides what the keypad keeps). */
  finish = (): void => {
    const a = this.view;
    if (!a) return;
    const kind = resultKind(a);
    if (!kind) return;
    window.clearTimeout(this.paidCloseTimer);
    this.paidCloseAtMs = null;
    this.cancelledByClerk.delete(a.id);
    this.view = null;
    this.error = null;
    this.host.finished(kind);
  };

  private cancellable(): boolean {
    const a = this.view;
    return !!a && !a.final && a.phase !== 'cancelling' && a.phase !== 'not_confirmed' && !this.cancelBusy;
  }

  private remember(v: PaymentView): void {
    // a fresh view restarts its countdown from the real time, not the last 250 ms tick
    this.host.tick(Date.now());
    rememberView(this.views, v, CACHE_LIMIT);
  }

  private present(v: PaymentView): void {
    if (v.deadlineAtMs !== null) {
      const cd = this.countdowns.get(v.id);
      if (!cd) {
        // first deadline of this payment: its wait started when the payment was created
        this.countdowns.set(v.id, [v.deadlineAtMs, Math.min(v.createdAtMs, Date.now())]);
      } else if (cd[0] !== v.deadlineAtMs) {
        // a countdown restart: the new wait starts now
        this.countdowns.set(v.id, [v.deadlineAtMs, Date.now()]);
      }
    }
    this.view = v;
    const kind = resultKind(v);
    if (kind) {
      const key = `${v.id}:${kind}`;
      if (!this.sounded.has(key)) {
        this.sounded.add(key);
        playSound(kind === 'success' ? 'success' : 'failure');
        if (kind === 'success') this.closePaidLater(v.id);
      }
    }
  }

  /** "Paid" goes back to the keypad by itself after `[counter] paid_close_seconds` (0: on a key
   * only), unless the clerk is doing something else over it by then. */
  private closePaidLater(id: string): void {
    const seconds = this.host.paidCloseSeconds();
    window.clearTimeout(this.paidCloseTimer);
    this.paidCloseAtMs = null;
    if (seconds <= 0 || this.host.kiosk()) return;
    this.paidCloseAtMs = Date.now() + seconds * 1000;
    this.paidCloseTimer = window.setTimeout(() => {
      const a = this.view;
      if (a?.id === id && resultKind(a) === 'success' && !this.host.covered()) this.finish();
    }, seconds * 1000);
  }
}
