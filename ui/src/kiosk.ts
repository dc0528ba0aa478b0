// The kiosk's pure logic (docs/ui-contract.md, "Kiosk mode"): which screen and state follow from
// the charge and its payment attempt as the core reports them, the idle reset's timing, the tender
// choice and the basket. Nothing here computes money: totals come from `kiosk_quote`, amounts are
// the core's texts, and a basket holds only product ids and quantities.

import type { Channel, PaymentView } from './api';
import type { BasketItem, ChargeView, KioskInfo, KioskProduct, Tender } from './charges';
import { preferredChannel } from './chargeFlow';
import { mergeView, secondsLeft } from './payment';

// ---------------------------------------------------------------- screens and states

/** Where the kiosk is with the charge it collects. */
export type Step =
  /** the tender choice (with one tender it is chosen at once) */
  | 'choose'
  /** `start_qr` / `arm_scan` on its way */
  | 'sending'
  /** `arm_scan` done: the scanner and the camera wait for the customer's payment code */
  | 'armed'
  /** a payment attempt: its PaymentView says what is shown */
  | 'paying'
  /** the customer cancelled: `cancel_payment` / `cancel_charge` on their way, or the core closing */
  | 'cancelling'
  | 'paid'
  | 'failed';

/** The charge on screen. No model (null) is the start screen. */
export interface PayModel {
  charge: ChargeView;
  step: Step;
  /** the tender picked for the current attempt */
  tender: Tender | null;
  /** the current (or the last) attempt as the core last reported it */
  payment: PaymentView | null;
  /** failed: why (the core's words); armed: a rejected code's message; otherwise null */
  message: string | null;
  /** when the paid screen appeared (for `paidResetSeconds`) */
  paidAtMs: number | null;
}

export type KioskModel = PayModel | null;

/** `data-screen` of the kiosk root. */
export type KioskScreen = 'start' | 'pay' | 'result';

/** `data-state` of `kiosk-state`. */
export type KioskStateId = 'choose' | 'sending' | 'waiting' | 'confirm' | 'checking' | 'paid' | 'failed' | 'cancelling';

/** Looks up the latest view of a payment seen (events, command answers). */
export type ViewLookup = (id: string) => PaymentView | undefined;

const noViews: ViewLookup = () => undefined;

export function kioskScreen(m: KioskModel): KioskScreen {
  if (!m) return 'start';
  return m.step === 'paid' || m.step === 'failed' ? 'result' : 'pay';
}

/** What the customer sees on the pay and result screens. */
export function kioskState(m: PayModel): KioskStateId {
  switch (m.step) {
    case 'choose':
    case 'sending':
    case 'cancelling':
    case 'paid':
    case 'failed':
      return m.step;
    case 'armed':
      return 'waiting';
    case 'paying':
      return m.payment ? attemptState(m.payment) : 'sending';
  }
}

/** The state a payment attempt in progress shows. */
export function attemptState(v: PaymentView): KioskStateId {
  if (v.final) return v.state === 'paid' ? 'paid' : 'failed';
  switch (v.phase) {
    case 'sending':
      return 'sending';
    case 'waiting':
      // a QR waits to be scanned; a payment code was read and the customer confirms in the wallet
      return v.flow === 'qr' ? 'waiting' : 'confirm';
    case 'cancelling':
      return 'cancelling';
    case 'checking':
    case 'not_confirmed': // the wait ended without an answer: the core keeps checking
    case 'done':
      return 'checking';
  }
}

/** The customer may cancel: choosing, waiting for the QR scan or the code, confirming, failed. */
export function canCancel(m: KioskModel): boolean {
  if (!m || m.charge.final || m.charge.state === 'cancelling') return false;
  const s = kioskState(m);
  return s === 'choose' || s === 'waiting' || s === 'confirm' || s === 'failed';
}

/** A payment attempt exists and is not over: nothing may reset the kiosk under it. */
export function attemptUnderWay(m: KioskModel): boolean {
  if (!m) return false;
  if (m.step === 'sending' || m.step === 'cancelling') return true;
  return m.step === 'paying' && !(m.payment?.final ?? false);
}

// ---------------------------------------------------------------- transitions

/** A charge the start screen takes up: unfinished and not being cancelled. */
export function adoptable(c: ChargeView): boolean {
  return !c.final && (c.state === 'open' || c.state === 'paying');
}

/** The pay screen for a charge taken up (`kiosk_order`'s answer, an API charge, bootstrap). */
export function enterCharge(c: ChargeView, nowMs: number, views: ViewLookup = noViews): PayModel {
  const m: PayModel = { charge: c, step: 'choose', tender: null, payment: null, message: null, paidAtMs: null };
  switch (c.state) {
    case 'open':
      // the last attempt failed (e.g. before a reload): offer "try again"
      return c.lastFailure ? { ...m, step: 'failed', message: customerFailure(c) } : m;
    case 'paying': {
      const v = c.paymentId ? views(c.paymentId) : undefined;
      return v ? withPayment({ ...m, step: 'paying' }, v, nowMs) : { ...m, step: 'paying' };
    }
    case 'cancelling':
      return { ...m, step: 'cancelling' };
    case 'paid':
      return { ...m, step: 'paid', payment: c.paymentId ? (views(c.paymentId) ?? null) : null, paidAtMs: nowMs };
    case 'cancelled':
      return { ...m, step: 'cancelling' };
  }
}

/**
 * A `charge-update` (or `cancel_charge`'s, `kiosk_order`'s answer). On the start screen an
 * unfinished charge is taken up (not one the kiosk gave up: `abandoned`); another charge than the
 * one on screen is left alone. Returns null for the start screen (the charge was cancelled).
 */
export function onCharge(
  m: KioskModel,
  c: ChargeView,
  nowMs: number,
  views: ViewLookup = noViews,
  abandoned: ReadonlySet<string> = new Set(),
): KioskModel {
  if (!m) return adoptable(c) && !abandoned.has(c.id) ? enterCharge(c, nowMs, views) : null;
  if (m.charge.id !== c.id) return m;
  // a final charge never becomes unfinished again (events and answers may cross)
  const charge = m.charge.final && !c.final ? m.charge : c;
  const next: PayModel = { ...m, charge };
  switch (charge.state) {
    case 'paid': {
      const v = charge.paymentId ? views(charge.paymentId) : undefined;
      return toPaid({ ...next, payment: v ?? m.payment }, nowMs);
    }
    case 'cancelled':
      return m.step === 'paid' ? next : null;
    case 'cancelling':
      return m.step === 'paid' ? next : { ...next, step: 'cancelling' };
    case 'paying': {
      const id = charge.paymentId;
      if (m.step === 'cancelling' || m.step === 'paid') return next;
      // a late report of the attempt that failed on screen
      if (m.step === 'failed' && (id === null || id === m.payment?.id)) return next;
      if (id === null) return m.step === 'paying' ? next : { ...next, step: 'paying' };
      const v = m.payment?.id === id ? m.payment : views(id);
      if (!v) return { ...next, step: 'paying', payment: null, message: null };
      return withPayment({ ...next, step: 'paying', message: null }, v, nowMs);
    }
    case 'open':
      if (m.step === 'failed') return { ...next, message: customerFailure(charge) ?? m.message };
      // the attempt ended without paying: its final view may still be on its way
      if (m.step === 'paying' && (m.payment === null || m.payment.final)) {
        return toFailed(next, customerFailure(charge) ?? m.payment?.customerMessage ?? null);
      }
      return next;
  }
}

/** A `payment-update` (or a command's view). Only the attempt of the charge on screen counts. */
export function onPayment(m: KioskModel, v: PaymentView, nowMs: number): KioskModel {
  if (!m) return m;
  const ours = v.id === m.payment?.id || v.id === m.charge.paymentId;
  if (!ours) return m;
  return withPayment(m, v, nowMs);
}

/** The attempt the kiosk itself started: `start_qr`'s answer, or a scan that started the payment. */
export function attemptStarted(m: KioskModel, v: PaymentView, nowMs: number): KioskModel {
  if (!m) return m;
  if (m.step === 'paid' || m.step === 'cancelling') return onPayment(m, v, nowMs);
  if (m.payment && m.payment.id !== v.id && !m.payment.final) return m; // another attempt is on screen
  return withPayment({ ...m, step: 'paying', message: null }, v, nowMs);
}

function withPayment(m: PayModel, v: PaymentView, nowMs: number): PayModel {
  const payment = m.payment?.id === v.id ? mergeView(m.payment, v) : v;
  const next: PayModel = { ...m, payment };
  if (payment.final && payment.state === 'paid') return toPaid(next, nowMs);
  switch (m.step) {
    case 'paid':
    case 'cancelling':
      return next;
    case 'failed':
      // the failed attempt reported again (not paid: see above)
      return next;
    default:
      if (payment.final) return toFailed(next, payment.customerMessage);
      return { ...next, step: 'paying' };
  }
}

function toPaid(m: PayModel, nowMs: number): PayModel {
  return { ...m, step: 'paid', message: null, paidAtMs: m.step === 'paid' ? m.paidAtMs : nowMs };
}

/** Why the charge's last attempt failed, in the customer's words (never a channel code). */
function customerFailure(c: ChargeView): string | null {
  return c.lastFailureCustomer ?? c.lastFailure;
}

function toFailed(m: PayModel, message: string | null): PayModel {
  return { ...m, step: 'failed', message: message ?? customerFailure(m.charge) };
}

/** The customer picked a tender (or the only one was picked): the request goes out. */
export function tenderChosen(m: KioskModel, tender: Tender): KioskModel {
  if (!m || (m.step !== 'choose' && m.step !== 'failed')) return m;
  return { ...m, step: 'sending', tender, payment: null, message: null };
}

/** `arm_scan` succeeded: the kiosk waits for a payment code (unless a scan was quicker). */
export function armed(m: KioskModel): KioskModel {
  return m && m.step === 'sending' ? { ...m, step: 'armed', message: null } : m;
}

/** `start_qr` / `arm_scan` was rejected: the failed screen with the core's message. */
export function startFailed(m: KioskModel, message: string): KioskModel {
  return m && m.step === 'sending' ? { ...m, step: 'failed', message } : m;
}

/** Back to the tender choice: "try again" after a failure, or another tender while armed. */
export function backToChoice(m: KioskModel): KioskModel {
  if (!m || (m.step !== 'failed' && m.step !== 'armed')) return m;
  return { ...m, step: 'choose', tender: null, message: null };
}

/** A code the core refused while armed: its message shows, the kiosk stays armed. */
export function scanRejected(m: KioskModel, message: string): KioskModel {
  return m && m.step === 'armed' ? { ...m, message } : m;
}

/** The customer pressed Cancel. */
export function cancelRequested(m: KioskModel): KioskModel {
  return m && canCancel(m) ? { ...m, step: 'cancelling', message: null } : m;
}

/** Cancelling was refused (e.g. lost contact): the failed screen offers cancel (and retry) again. */
export function cancelFailed(m: KioskModel, message: string): KioskModel {
  return m && m.step === 'cancelling' ? { ...m, step: 'failed', message } : m;
}

// ---------------------------------------------------------------- tenders

/** What the kiosk pays through: the charge's preferred channel when the core offers it, else the
 * kiosk's; the kiosk's method only on the kiosk's channel. */
export function attemptChannel(
  kiosk: Pick<KioskInfo, 'channel' | 'method'>,
  channels: readonly Channel[],
  charge: Pick<ChargeView, 'channel'> | null,
): { channel: string; method: string | null } {
  const wanted = preferredChannel(channels, charge);
  if (wanted && wanted !== kiosk.channel) return { channel: wanted, method: null };
  return { channel: kiosk.channel, method: kiosk.method };
}

/**
 * The tenders offered, in the kiosk's order: only those the channel can do (a QR needs `qr`, a
 * payment code `barcode`; an unknown channel is left to the core), the charge's preferred one
 * first.
 */
export function offeredTenders(
  kiosk: Pick<KioskInfo, 'tenders'>,
  channel: Pick<Channel, 'qr' | 'barcode'> | null,
  preferred: Tender | null = null,
): Tender[] {
  const list: Tender[] = [];
  for (const t of kiosk.tenders) {
    if (list.includes(t)) continue;
    if (channel && ((t === 'qr' && !channel.qr) || (t === 'code' && !channel.barcode))) continue;
    list.push(t);
  }
  if (preferred && list.includes(preferred)) return [preferred, ...list.filter((t) => t !== preferred)];
  return list;
}

/** With one tender it is chosen automatically. */
export function autoTender(offered: readonly Tender[]): Tender | null {
  return offered.length === 1 ? offered[0] : null;
}

// ---------------------------------------------------------------- idle reset

/** The "still there?" warning shows during the last this many seconds (at most half the idle
 * time, so a short idle reset still leaves the customer an unwarned while). */
export const IDLE_WARNING_SECONDS = 10;

/**
 * Whether the idle reset runs: the start screen with a basket, the tender choice, the wait for a
 * payment code (nothing was read yet: no attempt), the failed screen. Never while an attempt is
 * under way (its own deadline ends it), on the paid screen (it returns by itself) or while
 * something else is busy (an order being placed, the manager's PIN prompt).
 */
export function idleEligible(m: KioskModel, basketCount: number, busy: boolean): boolean {
  if (busy) return false;
  if (!m) return basketCount > 0;
  return m.step === 'choose' || m.step === 'armed' || m.step === 'failed';
}

export type IdleStatus = { kind: 'none' } | { kind: 'warn'; seconds: number } | { kind: 'reset' };

/**
 * Where the idle count is. `sinceMs`: the later of the last touch or key and the moment the kiosk
 * became eligible (a payment that just failed starts a fresh count).
 */
export function idleStatus(sinceMs: number, nowMs: number, idleResetSeconds: number): IdleStatus {
  if (!(idleResetSeconds > 0)) return { kind: 'none' };
  const leftMs = sinceMs + idleResetSeconds * 1000 - nowMs;
  if (leftMs <= 0) return { kind: 'reset' };
  const seconds = Math.ceil(leftMs / 1000);
  const warnFor = Math.min(IDLE_WARNING_SECONDS, Math.ceil(idleResetSeconds / 2));
  return seconds <= warnFor ? { kind: 'warn', seconds } : { kind: 'none' };
}

/** Whole seconds until the paid screen returns to the start (never negative). */
export function paidSecondsLeft(paidAtMs: number, nowMs: number, paidResetSeconds: number): number {
  return secondsLeft(paidAtMs + paidResetSeconds * 1000, nowMs);
}

// ---------------------------------------------------------------- basket

/** Quantities by product id; only ids and counts (the core prices the basket). */
export type Basket = Readonly<Record<string, number>>;

/** The core takes quantities 1–99. */
export const MAX_QTY = 99;

export function qtyOf(basket: Basket, id: string): number {
  return basket[id] ?? 0;
}

export function addItem(basket: Basket, id: string): Basket {
  const q = qtyOf(basket, id);
  return q >= MAX_QTY ? basket : { ...basket, [id]: q + 1 };
}

export function removeItem(basket: Basket, id: string): Basket {
  const q = qtyOf(basket, id);
  if (q <= 0) return basket;
  if (q === 1) {
    const next = { ...basket };
    delete next[id];
    return next;
  }
  return { ...basket, [id]: q - 1 };
}

/** The basket as `kiosk_quote` / `kiosk_order` take it, in the menu's order; ids the menu no
 * longer has are left out. */
export function basketItems(products: readonly Pick<KioskProduct, 'id'>[], basket: Basket): BasketItem[] {
  return products.filter((p) => qtyOf(basket, p.id) > 0).map((p) => ({ id: p.id, qty: qtyOf(basket, p.id) }));
}

/** How many pieces are in the basket (for "is it empty", never for money). */
export function basketCount(products: readonly Pick<KioskProduct, 'id'>[], basket: Basket): number {
  return basketItems(products, basket).reduce((n, i) => n + i.qty, 0);
}

/** A stable key of the basket's content, to tell whether a quote is for what is on screen. */
export function basketKey(items: readonly BasketItem[]): string {
  return items.map((i) => `${i.id}×${i.qty}`).join(',');
}
