// The customer display: its mode from the latest payment and charge (display.ts), and what the
// screen renders for each mode (DisplayScreen.svelte, with Svelte's server renderer).
import { describe, expect, it } from 'vitest';
import { render } from 'svelte/server';
import {
  displayView,
  emptyDisplay,
  fromBootstrap,
  nextChangeAt,
  RESULT_MS,
  withCharge,
  withPayment,
  type DisplayState,
  type DisplayView,
} from './display';
import DisplayScreen from './components/DisplayScreen.svelte';
import { chargeFixture, paidFixture, paymentFixture } from './testFixtures';
import type { Lang, PaymentView } from './api';

const T0 = 1_763_791_405_000;

/** The mode the display shows for a state at a time. */
const displayMode = (s: DisplayState, nowMs: number) => displayView(s, nowMs).mode;

function qrWaiting(p: Partial<PaymentView> = {}): PaymentView {
  return paymentFixture({
    id: 'Q1',
    flow: 'qr',
    phase: 'waiting',
    wallet: 'WECHAT',
    codeMasked: null,
    qrSvg: '<svg data-qr="big"></svg>',
    qrPayload: 'https://qr.example/Q1',
    deadlineAtMs: T0 + 60_000,
    createdAtMs: T0,
    ...p,
  });
}

function barcodeWaiting(p: Partial<PaymentView> = {}): PaymentView {
  return paymentFixture({ id: 'B1', phase: 'waiting', deadlineAtMs: T0 + 30_000, createdAtMs: T0, ...p });
}

/** Failed: the clerk reads the channel's code, the customer only words (`customerMessage`). */
function failed(v: PaymentView, customerMessage = '余额不足'): PaymentView {
  const message = `支付失败：${customerMessage}（BALANCE_NOT_ENOUGH），未扣款。`;
  return { ...v, state: 'failed', phase: 'done', final: true, qrSvg: null, deadlineAtMs: null, message, customerMessage };
}

function feed(...steps: ((s: DisplayState) => DisplayState)[]): DisplayState {
  return steps.reduce((s, f) => f(s), emptyDisplay);
}

describe('display mode', () => {
  it('welcomes when nothing is under way', () => {
    expect(displayMode(emptyDisplay, T0)).toBe('welcome');
    const v = displayView(emptyDisplay, T0);
    expect(v.amountText).toBeNull();
    expect(v.result).toBeNull();
  });

  it('shows an open charge’s amount and subject', () => {
    const s = withCharge(emptyDisplay, chargeFixture());
    const v = displayView(s, T0);
    expect(v.mode).toBe('amount');
    expect(v.amountText).toBe('26.80');
    expect(v.subject).toBe('牛肉面 ×2');
    expect(v.processing).toBe(false);
    expect(displayView(withCharge(emptyDisplay, chargeFixture({ subject: '' })), T0).subject).toBeNull();
  });

  it('shows the QR big with its countdown while a QR payment waits', () => {
    const s = withPayment(emptyDisplay, qrWaiting(), T0);
    const v = displayView(s, T0 + 18_200);
    expect(v.mode).toBe('qr');
    expect(v.qrSvg).toBe('<svg data-qr="big"></svg>');
    expect(v.qrPayload).toBe('https://qr.example/Q1');
    expect(v.seconds).toBe(42);
    expect(v.amountText).toBe('12.34');
  });

  it('shows the amount while a payment is sent or checked, and never the customer window’s payload', () => {
    const sending = qrWaiting({ phase: 'sending', qrSvg: null, deadlineAtMs: null });
    expect(displayView(withPayment(emptyDisplay, sending, T0), T0)).toMatchObject({ mode: 'amount', processing: true });
    const page = qrWaiting({ display: 'customer_window', qrSvg: null, qrPayload: '{"action":"x"}' });
    const v = displayView(withPayment(emptyDisplay, page, T0), T0);
    expect(v).toMatchObject({ mode: 'amount', page: true, processing: false, qrPayload: null, qrSvg: null });
    const checking = barcodeWaiting({ phase: 'checking' });
    expect(displayMode(withPayment(emptyDisplay, checking, T0), T0)).toBe('amount');
  });

  it('asks to confirm on the phone while a payment code payment waits', () => {
    const v = displayView(withPayment(emptyDisplay, barcodeWaiting(), T0), T0 + 10_000);
    expect(v.mode).toBe('confirm');
    expect(v.seconds).toBe(20);
  });

  it('shows the outcome for a few seconds, then the welcome again', () => {
    const s = feed(
      (s) => withPayment(s, qrWaiting(), T0),
      (s) => withPayment(s, paidFixture({ id: 'Q1', flow: 'qr', createdAtMs: T0 }), T0 + 9_000),
    );
    const v = displayView(s, T0 + 9_000);
    expect(v).toMatchObject({ mode: 'result', result: 'paid', amountText: '12.34', message: null });
    expect(displayMode(s, T0 + 9_000 + RESULT_MS - 1)).toBe('result');
    expect(displayMode(s, T0 + 9_000 + RESULT_MS)).toBe('welcome');
    expect(nextChangeAt(s, T0 + 9_000)).toBe(T0 + 9_000 + RESULT_MS);
    expect(nextChangeAt(s, T0 + 9_000 + RESULT_MS)).toBeNull();
  });

  it('shows a failure with the core’s message, then the charge again for another try', () => {
    const charge = chargeFixture({ state: 'paying', paymentId: 'B1' });
    const s = feed(
      (s) => withCharge(s, charge),
      (s) => withPayment(s, barcodeWaiting({ amountText: '26.80' }), T0),
      (s) => withPayment(s, failed(barcodeWaiting({ amountText: '26.80' })), T0 + 5_000),
      (s) => withCharge(s, { ...charge, state: 'open', paymentId: null, lastFailure: '余额不足' }),
    );
    const v = displayView(s, T0 + 6_000);
    expect(v).toMatchObject({ mode: 'result', result: 'failed', message: '余额不足', subject: '牛肉面 ×2' });
    expect(displayView(s, T0 + 5_000 + RESULT_MS)).toMatchObject({ mode: 'amount', amountText: '26.80' });
  });

  it('shows a payment not confirmed as not paid, without the clerk’s message', () => {
    const s = feed(
      (s) => withPayment(s, barcodeWaiting(), T0),
      (s) => withPayment(s, barcodeWaiting({ phase: 'not_confirmed', message: '请勿重复收款' }), T0 + 30_000),
    );
    expect(displayView(s, T0 + 30_000)).toMatchObject({ mode: 'result', result: 'failed', notConfirmed: true, message: null });
  });

  it('updates an outcome in place but shows it only once', () => {
    const b = barcodeWaiting();
    let s = feed(
      (s) => withPayment(s, b, T0),
      (s) => withPayment(s, { ...b, phase: 'not_confirmed' }, T0 + 30_000),
    );
    // paid a moment later: the result turns to paid, same time on screen
    s = withPayment(s, paidFixture({ id: 'B1', createdAtMs: T0 }), T0 + 32_000);
    expect(displayView(s, T0 + 32_000)).toMatchObject({ mode: 'result', result: 'paid' });
    expect(displayMode(s, T0 + 30_000 + RESULT_MS)).toBe('welcome');
    // the same outcome again much later does not come back
    s = withPayment(s, paidFixture({ id: 'B1', createdAtMs: T0, late: true }), T0 + 600_000);
    expect(displayMode(s, T0 + 600_000)).toBe('welcome');
  });

  it('follows the newest payment and ignores late updates of older ones', () => {
    const old = barcodeWaiting({ id: 'OLD', createdAtMs: T0 - 60_000 });
    const s = feed(
      (s) => withPayment(s, qrWaiting(), T0),
      (s) => withPayment(s, paidFixture({ ...old, late: true }), T0 + 1_000),
    );
    expect(displayMode(s, T0 + 1_000)).toBe('qr');
    expect(s.payment?.id).toBe('Q1');
  });

  it('never turns a final payment back into one in progress', () => {
    const s = feed(
      (s) => withPayment(s, qrWaiting(), T0),
      (s) => withPayment(s, paidFixture({ id: 'Q1', flow: 'qr', createdAtMs: T0 }), T0 + 1_000),
      (s) => withPayment(s, qrWaiting(), T0 + 1_100),
    );
    expect(displayView(s, T0 + 1_100)).toMatchObject({ mode: 'result', result: 'paid' });
  });

  it('follows one charge at a time and goes back to the welcome when it is cancelled', () => {
    const a = chargeFixture();
    const b = chargeFixture({ id: 'CH0002', amountText: '9.90' });
    let s = withCharge(withCharge(emptyDisplay, a), b);
    expect(displayView(s, T0).amountText).toBe('26.80');
    s = withCharge(s, { ...a, state: 'cancelled', final: true });
    expect(displayMode(s, T0)).toBe('welcome');
    s = withCharge(s, b);
    expect(displayView(s, T0).amountText).toBe('9.90');
  });

  it('does not show again the outcome of a payment already over when the display starts', () => {
    const paid = paidFixture({ id: 'P0', createdAtMs: T0 });
    const fresh = fromBootstrap(emptyDisplay, { active: paid, charge: null }, T0, true);
    expect(displayMode(fresh, T0)).toBe('welcome');
    const running = fromBootstrap(emptyDisplay, { active: qrWaiting(), charge: chargeFixture({ state: 'paying', paymentId: 'Q1' }) }, T0, true);
    expect(displayView(running, T0)).toMatchObject({ mode: 'qr', subject: '牛肉面 ×2' });
    // a language switch re-reads the bootstrap: the charge the core no longer has goes
    const again = fromBootstrap(withCharge(emptyDisplay, chargeFixture()), { active: null, charge: null }, T0);
    expect(displayMode(again, T0)).toBe('welcome');
  });
});

describe('display screen', () => {
  type Screen = { lang: Lang; welcome: string; logo: string | null; terminalName: string };
  const base: Screen = { lang: 'zh', welcome: '欢迎光临 小面馆', logo: 'data:image/png;base64,AAAA', terminalName: '一号收银台' };
  const show = (view: DisplayView, p: Partial<Screen> = {}) => render(DisplayScreen, { props: { view, ...base, ...p } }).body;

  it('tells the customer which wallet to open, with its mark; says nothing of a wallet it does not know', () => {
    const one = show(displayView(withPayment(emptyDisplay, qrWaiting({ wallets: ['wechat'] }), T0), T0));
    expect(one).toContain('请用微信支付扫码付款');
    expect(one).toMatch(/data-testid="wallet-marks"[^>]*data-wallets="wechat"/);
    const any = show(displayView(withPayment(emptyDisplay, qrWaiting({ wallets: [] }), T0), T0));
    expect(any).toContain('请用手机扫码付款');
    expect(any).not.toContain('wallet-marks');
  });

  it('welcomes with the logo', () => {
    const html = show(displayView(emptyDisplay, T0));
    expect(html).toMatch(/data-testid="display"[^>]*data-mode="welcome"/);
    expect(html).toContain('data-testid="display-logo"');
    expect(html).toMatch(/data-testid="display-welcome"[^>]*>欢迎光临 小面馆</);
    expect(show(displayView(emptyDisplay, T0), { welcome: '', logo: null, lang: 'en' })).toContain('>Welcome<');
    expect(show(displayView(emptyDisplay, T0), { logo: null })).not.toContain('display-logo');
  });

  it('shows the QR with its payload, the amount and the countdown', () => {
    const s = withCharge(withPayment(emptyDisplay, qrWaiting(), T0), chargeFixture({ state: 'paying', paymentId: 'Q1' }));
    const html = show(displayView(s, T0 + 18_000));
    expect(html).toMatch(/data-mode="qr"/);
    expect(html).toMatch(/data-testid="display-qr"[^>]*data-payload="https:\/\/qr.example\/Q1"/);
    expect(html).toContain('<svg data-qr="big"></svg>');
    expect(html).toMatch(/data-testid="display-amount"[^>]*>¥ 12.34</);
    expect(html).toMatch(/data-testid="display-subject"[^>]*>牛肉面 ×2</);
    expect(html).toMatch(/data-testid="display-countdown"[^>]*data-seconds="42"/);
    expect(html).toContain('请用手机扫码付款');
  });

  it('asks to confirm on the phone, in the language the clerk picked', () => {
    const v = displayView(withPayment(emptyDisplay, barcodeWaiting(), T0), T0);
    expect(show(v)).toMatch(/data-testid="display-message"[^>]*>请在手机上确认付款</);
    expect(show(v, { lang: 'en' })).toContain('Please confirm the payment on your phone');
    expect(show(v)).toMatch(/data-mode="confirm"/);
  });

  it('shows the outcome: paid with thanks, failed with the message', () => {
    const b = barcodeWaiting();
    const paid = withPayment(withPayment(emptyDisplay, b, T0), paidFixture({ id: 'B1', createdAtMs: T0 }), T0);
    let html = show(displayView(paid, T0));
    expect(html).toMatch(/data-testid="display-result"[^>]*data-state="paid"/);
    expect(html).toContain('支付成功');
    expect(html).toContain('谢谢惠顾');

    const bad = withPayment(withPayment(emptyDisplay, b, T0), failed(b, '付款码已过期'), T0);
    html = show(displayView(bad, T0));
    expect(html).toMatch(/data-testid="display-result"[^>]*data-state="failed"/);
    expect(html).toContain('支付未成功');
    expect(html).toMatch(/data-testid="display-message"[^>]*>付款码已过期</);
    expect(html, 'a channel code is for the clerk, never the customer').not.toContain('BALANCE_NOT_ENOUGH');
  });

  it('shows a charge’s amount without a QR', () => {
    const html = show(displayView(withCharge(emptyDisplay, chargeFixture()), T0));
    expect(html).toMatch(/data-mode="amount"/);
    expect(html).toMatch(/data-testid="display-amount"[^>]*>¥ 26.80</);
    expect(html).not.toContain('display-qr');
    expect(html).not.toContain('display-countdown');
  });
});
