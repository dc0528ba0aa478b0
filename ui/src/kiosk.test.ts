// The kiosk's pure logic: screens and states from the charge and its payment as the core reports
// them, the idle reset's rules and timing, the tenders offered, the basket.
import { describe, expect, it } from 'vitest';
import type { PaymentView } from './api';
import type { ChargeView, KioskInfo } from './charges';
import {
  addItem,
  adoptable,
  armed,
  attemptChannel,
  attemptStarted,
  attemptState,
  attemptUnderWay,
  autoTender,
  backToChoice,
  basketCount,
  basketItems,
  basketKey,
  canCancel,
  cancelFailed,
  cancelRequested,
  enterCharge,
  idleEligible,
  idleStatus,
  kioskScreen,
  kioskState,
  MAX_QTY,
  offeredTenders,
  onCharge,
  onPayment,
  paidSecondsLeft,
  removeItem,
  scanRejected,
  startFailed,
  tenderChosen,
  type KioskModel,
  type PayModel,
} from './kiosk';
import { abcChannel, kioskChargeFixture, paymentFixture } from './testFixtures';

const T0 = 1_763_791_405_000;

/** A kiosk order's charge (the shared `chargeFixture` is an API charge). */
const charge = kioskChargeFixture;

const qrWaiting = (p: Partial<PaymentView> = {}) =>
  paymentFixture({
    id: 'P1',
    flow: 'qr',
    phase: 'waiting',
    wallet: 'WECHAT',
    codeMasked: null,
    qrSvg: '<svg/>',
    qrPayload: 'https://qr.example/P1',
    deadlineAtMs: T0 + 120_000,
    message: '请顾客扫码',
    amountText: '36.00',
    ...p,
  });
const barcode = (p: Partial<PaymentView> = {}) => paymentFixture({ id: 'P1', amountText: '36.00', ...p });
const failedView = (p: Partial<PaymentView> = {}) =>
  barcode({ state: 'failed', phase: 'done', final: true, message: '余额不足', ...p });
const paidView = (p: Partial<PaymentView> = {}) => barcode({ state: 'paid', phase: 'done', final: true, message: '支付成功', ...p });

const pay = (p: Partial<PayModel> = {}): PayModel => ({
  charge: charge(),
  step: 'choose',
  tender: null,
  payment: null,
  message: null,
  paidAtMs: null,
  ...p,
});

const paying = (v: PaymentView, c: Partial<ChargeView> = {}) =>
  pay({ charge: charge({ state: 'paying', paymentId: v.id, ...c }), step: 'paying', tender: v.flow === 'qr' ? 'qr' : 'code', payment: v });

const state = (m: KioskModel) => (m ? kioskState(m) : null);

describe('screens and states', () => {
  it('start without a charge, pay while collecting, result when paid or failed', () => {
    expect(kioskScreen(null)).toBe('start');
    expect(kioskScreen(pay())).toBe('pay');
    expect(kioskScreen(pay({ step: 'armed' }))).toBe('pay');
    expect(kioskScreen(pay({ step: 'cancelling' }))).toBe('pay');
    expect(kioskScreen(pay({ step: 'paid' }))).toBe('result');
    expect(kioskScreen(pay({ step: 'failed' }))).toBe('result');
  });

  it('names the payment’s phase for the customer', () => {
    expect(attemptState(qrWaiting())).toBe('waiting');
    expect(attemptState(barcode({ phase: 'sending' }))).toBe('sending');
    // a payment code was read and the wallet asks the customer to confirm
    expect(attemptState(barcode({ phase: 'waiting' }))).toBe('confirm');
    expect(attemptState(barcode({ phase: 'checking' }))).toBe('checking');
    expect(attemptState(barcode({ phase: 'not_confirmed' }))).toBe('checking');
    expect(attemptState(barcode({ phase: 'cancelling' }))).toBe('cancelling');
    expect(attemptState(paidView())).toBe('paid');
    expect(attemptState(failedView())).toBe('failed');
    expect(kioskState(pay({ step: 'armed' }))).toBe('waiting');
    expect(kioskState(pay({ step: 'paying' }))).toBe('sending'); // the attempt's view is on its way
  });

  it('offers Cancel while choosing, waiting, confirming and after a failure only', () => {
    expect(canCancel(null)).toBe(false);
    expect(canCancel(pay())).toBe(true);
    expect(canCancel(pay({ step: 'armed' }))).toBe(true);
    expect(canCancel(paying(qrWaiting()))).toBe(true);
    expect(canCancel(paying(barcode({ phase: 'waiting' })))).toBe(true);
    expect(canCancel(pay({ step: 'failed' }))).toBe(true);
    expect(canCancel(pay({ step: 'sending' }))).toBe(false);
    expect(canCancel(paying(barcode({ phase: 'checking' })))).toBe(false);
    expect(canCancel(pay({ step: 'cancelling' }))).toBe(false);
    expect(canCancel(pay({ step: 'paid' }))).toBe(false);
    expect(canCancel(pay({ charge: charge({ state: 'cancelling' }) }))).toBe(false);
  });

  it('knows when an attempt is under way', () => {
    expect(attemptUnderWay(null)).toBe(false);
    expect(attemptUnderWay(pay())).toBe(false);
    expect(attemptUnderWay(pay({ step: 'armed' }))).toBe(false);
    expect(attemptUnderWay(pay({ step: 'sending' }))).toBe(true);
    expect(attemptUnderWay(paying(qrWaiting()))).toBe(true);
    expect(attemptUnderWay(pay({ step: 'failed', payment: failedView() }))).toBe(false);
  });
});

describe('charges', () => {
  it('the start screen takes up an unfinished charge, not a final one or one the kiosk gave up', () => {
    expect(adoptable(charge())).toBe(true);
    expect(adoptable(charge({ state: 'paying', paymentId: 'P1' }))).toBe(true);
    expect(adoptable(charge({ state: 'cancelling' }))).toBe(false);
    expect(adoptable(charge({ state: 'cancelled', final: true }))).toBe(false);

    const api = charge({ origin: 'api', externalOrderId: 'A-17' });
    expect(onCharge(null, api, T0)).toEqual(pay({ charge: api }));
    expect(onCharge(null, charge({ state: 'paid', final: true }), T0)).toBeNull();
    expect(onCharge(null, api, T0, undefined, new Set(['CH0001']))).toBeNull();
  });

  it('a charge whose last attempt failed opens on the failed screen; one being paid follows its payment', () => {
    expect(enterCharge(charge({ lastFailure: '二维码已过期' }), T0)).toMatchObject({ step: 'failed', message: '二维码已过期' });
    const v = qrWaiting();
    const m = enterCharge(charge({ state: 'paying', paymentId: 'P1' }), T0, (id) => (id === 'P1' ? v : undefined));
    expect(m).toMatchObject({ step: 'paying', payment: v });
    expect(state(m)).toBe('waiting');
    expect(enterCharge(charge({ state: 'paying', paymentId: 'P9' }), T0)).toMatchObject({ step: 'paying', payment: null });
  });

  it('leaves another charge alone while one is on screen', () => {
    const m = pay();
    expect(onCharge(m, charge({ id: 'CH0002', origin: 'api' }), T0)).toBe(m);
  });

  it('paid, cancelled and cancelling charges', () => {
    const m = paying(qrWaiting());
    const paid = onCharge(m, charge({ state: 'paid', final: true, paymentId: 'P1' }), T0 + 5);
    expect(paid).toMatchObject({ step: 'paid', paidAtMs: T0 + 5 });
    // the paid screen's time is not restarted by a repeated report
    expect(onCharge(paid, charge({ state: 'paid', final: true, paymentId: 'P1' }), T0 + 900)).toMatchObject({ paidAtMs: T0 + 5 });
    expect(onCharge(m, charge({ state: 'cancelling' }), T0)).toMatchObject({ step: 'cancelling' });
    expect(onCharge(m, charge({ state: 'cancelled', final: true }), T0)).toBeNull();
    // a final charge never becomes unfinished again
    expect(onCharge(paid, charge({ state: 'paying', paymentId: 'P1' }), T0)).toMatchObject({ step: 'paid', charge: { state: 'paid' } });
  });

  it('an attempt started elsewhere (a serial scan) is followed by its id', () => {
    const v = barcode({ phase: 'waiting' });
    const m = onCharge(pay({ step: 'armed' }), charge({ state: 'paying', paymentId: 'P1' }), T0, (id) => (id === 'P1' ? v : undefined));
    expect(m).toMatchObject({ step: 'paying', payment: v });
    expect(state(m)).toBe('confirm');
  });

  it('the charge open again after its attempt: failed with the core’s message', () => {
    const m = paying(barcode({ phase: 'waiting' }));
    // the payment's final view decides first
    const failed = onPayment(m, failedView(), T0);
    expect(failed).toMatchObject({ step: 'failed', message: '余额不足' });
    expect(onCharge(failed, charge({ state: 'open', lastFailure: '支付失败：余额不足' }), T0)).toMatchObject({
      step: 'failed',
      message: '支付失败：余额不足',
    });
    // without the final view, the open charge says it
    expect(onCharge(pay({ step: 'paying' }), charge({ lastFailure: '二维码已过期' }), T0)).toMatchObject({
      step: 'failed',
      message: '二维码已过期',
    });
    // an attempt still waiting is not ended by an open charge (a report that crossed)
    expect(onCharge(m, charge(), T0)).toMatchObject({ step: 'paying' });
    // the failed attempt reported again does not leave the failed screen
    expect(onCharge(failed, charge({ state: 'paying', paymentId: 'P1' }), T0)).toMatchObject({ step: 'failed' });
  });
});

describe('payments', () => {
  it('follows only the charge’s attempt', () => {
    const m = paying(qrWaiting());
    expect(onPayment(m, barcode({ id: 'OTHER', state: 'paid', final: true }), T0)).toBe(m);
    expect(onPayment(null, paidView(), T0)).toBeNull();
    expect(onPayment(m, qrWaiting({ phase: 'checking' }), T0)).toMatchObject({ step: 'paying', payment: { phase: 'checking' } });
  });

  it('paid and failed views end the attempt; a final view is never replaced by an older one', () => {
    const m = paying(qrWaiting());
    const paid = onPayment(m, qrWaiting({ state: 'paid', phase: 'done', final: true }), T0 + 1);
    expect(paid).toMatchObject({ step: 'paid', paidAtMs: T0 + 1 });
    expect(onPayment(paid, qrWaiting(), T0 + 2)).toMatchObject({ step: 'paid', payment: { state: 'paid' } });
    expect(onPayment(m, qrWaiting({ state: 'closed', phase: 'done', final: true, message: '二维码已过期' }), T0)).toMatchObject({
      step: 'failed',
      message: '二维码已过期',
    });
  });

  it('while cancelling, a payment that turns out paid shows paid; one closed waits for the charge', () => {
    const m = pay({ ...paying(qrWaiting()), step: 'cancelling' });
    expect(onPayment(m, qrWaiting({ state: 'closed', phase: 'done', final: true }), T0)).toMatchObject({ step: 'cancelling' });
    expect(onPayment(m, qrWaiting({ state: 'paid', phase: 'done', final: true }), T0)).toMatchObject({ step: 'paid' });
  });

  it('the kiosk’s own attempt: start_qr’s answer or a scan that started it', () => {
    const sending = tenderChosen(pay(), 'qr');
    expect(sending).toMatchObject({ step: 'sending', tender: 'qr' });
    expect(state(attemptStarted(sending, qrWaiting(), T0))).toBe('waiting');
    const armedModel = armed(tenderChosen(pay(), 'code'));
    expect(armedModel).toMatchObject({ step: 'armed' });
    expect(state(attemptStarted(armedModel, barcode(), T0))).toBe('sending');
    expect(attemptStarted(null, barcode(), T0)).toBeNull();
    // a scan quicker than arm_scan's answer: the answer does not go back to waiting
    const quick = attemptStarted(tenderChosen(pay(), 'code'), barcode(), T0);
    expect(armed(quick)).toBe(quick);
  });
});

describe('the customer’s actions', () => {
  it('tender, refused start, retry, another tender, a refused code', () => {
    expect(tenderChosen(pay({ step: 'sending' }), 'qr')).toMatchObject({ step: 'sending' });
    expect(tenderChosen(null, 'qr')).toBeNull();
    const refused = startFailed(tenderChosen(pay(), 'qr'), '通道暂不可用');
    expect(refused).toMatchObject({ step: 'failed', message: '通道暂不可用' });
    expect(startFailed(pay(), 'x')).toMatchObject({ step: 'choose' });
    expect(backToChoice(refused)).toMatchObject({ step: 'choose', tender: null, message: null });
    expect(backToChoice(pay({ step: 'armed', tender: 'code' }))).toMatchObject({ step: 'choose' });
    expect(backToChoice(paying(qrWaiting()))).toMatchObject({ step: 'paying' });
    expect(scanRejected(pay({ step: 'armed' }), '这不是付款码')).toMatchObject({ step: 'armed', message: '这不是付款码' });
    expect(scanRejected(pay(), '这不是付款码')).toMatchObject({ message: null });
  });

  it('cancel, and a cancel the core refused', () => {
    const c = cancelRequested(paying(qrWaiting()));
    expect(c).toMatchObject({ step: 'cancelling' });
    expect(cancelRequested(pay({ step: 'sending' }))).toMatchObject({ step: 'sending' });
    expect(cancelFailed(c, '网络异常')).toMatchObject({ step: 'failed', message: '网络异常' });
    expect(cancelFailed(pay(), '网络异常')).toMatchObject({ step: 'choose' });
  });
});

describe('tenders', () => {
  const kiosk: Pick<KioskInfo, 'tenders' | 'channel' | 'method'> = { tenders: ['qr', 'code'], channel: 'abc', method: 'WECHAT' };

  it('offers the kiosk’s tenders the channel can do, the charge’s preferred one first', () => {
    expect(offeredTenders(kiosk, abcChannel)).toEqual(['qr', 'code']);
    expect(offeredTenders(kiosk, { ...abcChannel, qr: false })).toEqual(['code']);
    expect(offeredTenders(kiosk, { ...abcChannel, barcode: false })).toEqual(['qr']);
    expect(offeredTenders(kiosk, abcChannel, 'code')).toEqual(['code', 'qr']);
    expect(offeredTenders({ tenders: ['code', 'code'] }, null)).toEqual(['code']);
    expect(offeredTenders(kiosk, null)).toEqual(['qr', 'code']);
  });

  it('picks the only tender automatically', () => {
    expect(autoTender(['qr'])).toBe('qr');
    expect(autoTender(['code'])).toBe('code');
    expect(autoTender(['qr', 'code'])).toBeNull();
    expect(autoTender([])).toBeNull();
  });

  it('pays through the charge’s channel when the core offers it, else the kiosk’s with its method', () => {
    const lakala = { ...abcChannel, id: 'lakala' };
    expect(attemptChannel(kiosk, [abcChannel, lakala], null)).toEqual({ channel: 'abc', method: 'WECHAT' });
    expect(attemptChannel(kiosk, [abcChannel, lakala], { channel: 'lakala' })).toEqual({ channel: 'lakala', method: null });
    expect(attemptChannel(kiosk, [abcChannel], { channel: 'lakala' })).toEqual({ channel: 'abc', method: 'WECHAT' });
    expect(attemptChannel(kiosk, [abcChannel], { channel: 'abc' })).toEqual({ channel: 'abc', method: 'WECHAT' });
  });
});

describe('idle reset', () => {
  it('runs on the start screen with a basket, the choice, the wait for a code and the failed screen', () => {
    expect(idleEligible(null, 0, false)).toBe(false);
    expect(idleEligible(null, 2, false)).toBe(true);
    expect(idleEligible(pay(), 0, false)).toBe(true);
    expect(idleEligible(pay({ step: 'armed' }), 0, false)).toBe(true);
    expect(idleEligible(pay({ step: 'failed' }), 0, false)).toBe(true);
  });

  it('never while an attempt is under way, on the paid screen or while busy', () => {
    expect(idleEligible(pay({ step: 'sending' }), 0, false)).toBe(false);
    expect(idleEligible(paying(qrWaiting()), 0, false)).toBe(false);
    expect(idleEligible(paying(barcode({ phase: 'waiting' })), 0, false)).toBe(false);
    expect(idleEligible(pay({ step: 'cancelling' }), 0, false)).toBe(false);
    expect(idleEligible(pay({ step: 'paid' }), 0, false)).toBe(false);
    expect(idleEligible(pay(), 0, true)).toBe(false);
    expect(idleEligible(null, 3, true)).toBe(false);
  });

  it('warns during the last 10 seconds, then resets', () => {
    expect(idleStatus(T0, T0, 60)).toEqual({ kind: 'none' });
    expect(idleStatus(T0, T0 + 49_999, 60)).toEqual({ kind: 'none' });
    expect(idleStatus(T0, T0 + 50_000, 60)).toEqual({ kind: 'warn', seconds: 10 });
    expect(idleStatus(T0, T0 + 55_500, 60)).toEqual({ kind: 'warn', seconds: 5 });
    expect(idleStatus(T0, T0 + 59_999, 60)).toEqual({ kind: 'warn', seconds: 1 });
    expect(idleStatus(T0, T0 + 60_000, 60)).toEqual({ kind: 'reset' });
    // a short idle time warns all along; none at all never resets
    expect(idleStatus(T0, T0, 5), 'a short idle time warns only in its second half').toEqual({ kind: 'none' });
    expect(idleStatus(T0, T0 + 2_500, 5)).toEqual({ kind: 'warn', seconds: 3 });
    expect(idleStatus(T0, T0 + 4_999, 10)).toEqual({ kind: 'none' });
    expect(idleStatus(T0, T0 + 5_000, 10)).toEqual({ kind: 'warn', seconds: 5 });
    expect(idleStatus(T0, T0 + 999_999, 0)).toEqual({ kind: 'none' });
  });

  it('the paid screen’s seconds', () => {
    expect(paidSecondsLeft(T0, T0, 6)).toBe(6);
    expect(paidSecondsLeft(T0, T0 + 5_001, 6)).toBe(1);
    expect(paidSecondsLeft(T0, T0 + 6_000, 6)).toBe(0);
    expect(paidSecondsLeft(T0, T0 + 60_000, 6)).toBe(0);
  });
});

describe('basket', () => {
  const products = [{ id: 'noodle' }, { id: 'tea' }, { id: 'egg' }];

  it('adds, removes, caps at 99 and drops a line at 0', () => {
    let b = addItem({}, 'tea');
    b = addItem(b, 'noodle');
    b = addItem(b, 'tea');
    expect(b).toEqual({ tea: 2, noodle: 1 });
    b = removeItem(b, 'noodle');
    expect(b).toEqual({ tea: 2 });
    expect(removeItem(b, 'egg')).toBe(b);
    const full = { tea: MAX_QTY };
    expect(addItem(full, 'tea')).toBe(full);
  });

  it('sends the items in the menu’s order, without ids the menu no longer has', () => {
    const b = { tea: 2, noodle: 1, gone: 4 };
    expect(basketItems(products, b)).toEqual([
      { id: 'noodle', qty: 1 },
      { id: 'tea', qty: 2 },
    ]);
    expect(basketCount(products, b)).toBe(3);
    expect(basketCount(products, {})).toBe(0);
    expect(basketKey(basketItems(products, b))).toBe('noodle×1,tea×2');
    expect(basketKey([])).toBe('');
  });
});
