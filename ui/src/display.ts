// The customer display's logic (docs/ui-contract.md, "Customer display"): what the second window
// shows, from the latest payment and charge the core sent. Pure functions; Display.svelte keeps the
// state and feeds it `payment-update`, `charge-update` and the clock. Nothing here computes money:
// amounts are the core's `amountText`.

import type { PaymentView } from './api';
import type { ChargeView } from './charges';
import { chargeFromBoot, nextCharge } from './chargeFlow';
import { mergeView, resultKind, secondsLeft } from './payment';

export type DisplayMode = 'welcome' | 'amount' | 'qr' | 'confirm' | 'result';

/** How long a payment's outcome stays on the display before the welcome comes back. */
export const RESULT_MS = 5_000;

export interface DisplayState {
  /** the payment followed: the newest one seen */
  payment: PaymentView | null;
  charge: ChargeView | null;
  /** the payment whose outcome was put on screen (it is shown once) */
  resultFor: string | null;
  /** when that outcome leaves the screen (epoch ms) */
  resultUntilMs: number;
}

/** What the display shows now. */
export interface DisplayView {
  mode: DisplayMode;
  /** the amount (the core's text) for every mode but `welcome` */
  amountText: string | null;
  /** what is paid for (the charge's subject), or null */
  subject: string | null;
  /** `qr`: the QR's SVG markup and the text inside it */
  qrSvg: string | null;
  qrPayload: string | null;
  /** `qr`: the wallets the code takes (the customer opens one of these), [] when unknown */
  wallets: readonly string[];
  /** whole seconds left of the customer's wait (`qr`, `confirm`), else null */
  seconds: number | null;
  /** `result`: paid or failed (a payment not confirmed counts as failed here, see `notConfirmed`) */
  result: 'paid' | 'failed' | null;
  /** `result`: the clerk's wait ended without an answer (the money may still arrive) */
  notConfirmed: boolean;
  /** the payment's own outcome message (failed results), else null */
  message: string | null;
  /** `amount` while a payment is being sent or checked (not just a charge waiting for the clerk) */
  processing: boolean;
  /** `amount` for a payment whose page is open in the customer window */
  page: boolean;
}

export const emptyDisplay: DisplayState = { payment: null, charge: null, resultFor: null, resultUntilMs: 0 };

/** The state after `display_bootstrap` (start, language switch). A payment already over when the
 * display (re)starts is not shown again as a result. */
export function fromBootstrap(
  s: DisplayState,
  b: { active: PaymentView | null; charge: ChargeView | null },
  nowMs: number,
  fresh = false,
): DisplayState {
  let next: DisplayState = { ...s, charge: chargeFromBoot(s.charge, b.charge) };
  if (b.active) {
    if (fresh && resultKind(b.active) !== null) {
      next = { ...next, payment: b.active, resultFor: b.active.id, resultUntilMs: 0 };
    } else {
      next = withPayment(next, b.active, nowMs);
    }
  }
  return next;
}

/**
 * A `payment-update`. The display follows the newest payment: an update of an older one (a late
 * answer of a payment given up before) is ignored. The outcome of the payment followed is put on
 * screen once, for `RESULT_MS`; a later change of that outcome within that time replaces it (e.g.
 * not confirmed, then paid), after it nothing shows again.
 */
export function withPayment(s: DisplayState, v: PaymentView, nowMs: number): DisplayState {
  const prev = s.payment;
  if (prev && prev.id !== v.id && v.createdAtMs < prev.createdAtMs) return s;
  const kept = prev && prev.id === v.id ? mergeView(prev, v) : v;
  let { resultFor, resultUntilMs } = s;
  if (resultKind(kept) !== null && resultFor !== kept.id) {
    resultFor = kept.id;
    resultUntilMs = nowMs + RESULT_MS;
  }
  return { ...s, payment: kept, resultFor, resultUntilMs };
}

/** A `charge-update` (one charge at a time, as on the clerk's screen). */
export function withCharge(s: DisplayState, c: ChargeView): DisplayState {
  const charge = nextCharge(s.charge, c);
  return charge === s.charge ? s : { ...s, charge };
}

export function displayView(s: DisplayState, nowMs: number): DisplayView {
  const base: DisplayView = {
    mode: 'welcome',
    amountText: null,
    subject: null,
    qrSvg: null,
    qrPayload: null,
    wallets: [],
    seconds: null,
    result: null,
    notConfirmed: false,
    message: null,
    processing: false,
    page: false,
  };
  const p = s.payment;
  const c = s.charge;
  // the charge's subject belongs to the payment collecting it, and to the charge while it is open
  const subjectFor = (paymentId: string | null): string | null => {
    if (!c || !c.subject) return null;
    if (!c.final || (paymentId !== null && c.paymentId === paymentId)) return c.subject;
    return null;
  };

  if (p) {
    const kind = resultKind(p);
    const subject = subjectFor(p.id);
    if (kind === null) {
      const seconds = p.deadlineAtMs !== null ? secondsLeft(p.deadlineAtMs, nowMs) : null;
      if (p.flow === 'qr' && p.display === 'qr' && p.phase === 'waiting' && p.qrSvg) {
        const wallets = p.wallets ?? [];
        return { ...base, mode: 'qr', amountText: p.amountText, subject, qrSvg: p.qrSvg, qrPayload: p.qrPayload, wallets, seconds };
      }
      if (p.flow === 'barcode' && p.phase === 'waiting') {
        return { ...base, mode: 'confirm', amountText: p.amountText, subject, seconds };
      }
      const page = p.flow === 'qr' && p.display === 'customer_window' && p.phase === 'waiting';
      return { ...base, mode: 'amount', amountText: p.amountText, subject, processing: !page, page };
    }
    if (s.resultFor === p.id && nowMs < s.resultUntilMs) {
      const paid = kind === 'success';
      return {
        ...base,
        mode: 'result',
        amountText: p.amountText,
        subject,
        result: paid ? 'paid' : 'failed',
        notConfirmed: kind === 'not_confirmed',
        // the core's outcome line of a failed payment; a payment not confirmed gets the display's own
        message: kind === 'failure' ? p.customerMessage : null,
      };
    }
  }
  if (c && !c.final) {
    // an open charge waits for the clerk (or another try after a failed attempt)
    const paying = c.state === 'paying' || c.state === 'cancelling';
    return { ...base, mode: 'amount', amountText: c.amountText, subject: c.subject || null, processing: paying };
  }
  return base;
}

/** When the display must look again by itself (a result leaving the screen), or null. */
export function nextChangeAt(s: DisplayState, nowMs: number): number | null {
  return s.resultUntilMs > nowMs ? s.resultUntilMs : null;
}
