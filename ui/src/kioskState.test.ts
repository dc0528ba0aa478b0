// The kiosk's state module against the real AppState and the real command wrappers, with Tauri's
// `invoke` and `listen` mocked: the menu and its quotes, ordering, the tenders (QR, payment code
// with the wedge scanner), the payment's states, cancel, the idle reset, the paid screen's return,
// API charges, the language and leaving kiosk mode. Screens are rendered with Svelte's server
// renderer.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { render } from 'svelte/server';
import type { Bootstrap, PaymentView, ScanEvent } from './api';
import type { BasketItem, KioskInfo } from './charges';

type Handler = (e: { payload: unknown }) => void;

const mocks = vi.hoisted(() => ({
  invoke: vi.fn(),
  listeners: new Map<string, Set<(e: { payload: unknown }) => void>>(),
  playSound: vi.fn(),
}));

vi.mock('@tauri-apps/api/core', () => ({ invoke: mocks.invoke }));
vi.mock('@tauri-apps/api/event', () => ({
  listen: vi.fn(async (name: string, h: Handler) => {
    const set = mocks.listeners.get(name) ?? new Set<Handler>();
    set.add(h);
    mocks.listeners.set(name, set);
    return () => set.delete(h);
  }),
}));
vi.mock('./sounds', () => ({ playSound: mocks.playSound }));

import { AppState, app, kioskHost } from './state.svelte';
import { EXIT_HOLD_MS, KioskState } from './kiosk.svelte';
import Kiosk from './components/kiosk/Kiosk.svelte';
import KioskStart from './components/kiosk/KioskStart.svelte';
import KioskPay from './components/kiosk/KioskPay.svelte';
import KioskResult from './components/kiosk/KioskResult.svelte';
import KioskIdle from './components/kiosk/KioskIdle.svelte';
import { abcChannel, bootFixture, clerkUser, fakeKey, kioskChargeFixture, managerUser, paymentFixture, peopleFixture, todayFixture } from './testFixtures';

const T0 = 1_763_791_405_000;

const kioskInfo = (p: Partial<KioskInfo> = {}): KioskInfo => ({
  welcome: '欢迎光临 小面馆',
  logoDataUrl: 'data:image/png;base64,iVBORw0KGgo=',
  idleResetSeconds: 60,
  paidResetSeconds: 6,
  tenders: ['qr', 'code'],
  channel: 'abc',
  method: null,
  products: [
    { id: 'noodles', name: '牛肉面', priceFen: 1800, priceText: '18.00' },
    { id: 'tea', name: '柠檬茶', priceFen: 600, priceText: '6.00' },
  ],
  ...p,
});

const boot = (p: Partial<Bootstrap> = {}, k: Partial<KioskInfo> = {}): Bootstrap =>
  bootFixture({ kiosk: kioskInfo(k), people: peopleFixture({ users: [managerUser, clerkUser] }), ...p });

/** A kiosk order's charge (the shared `chargeFixture` is an API charge). */
const charge = kioskChargeFixture;

const qrView = (p: Partial<PaymentView> = {}) =>
  paymentFixture({
    id: 'P1',
    flow: 'qr',
    phase: 'waiting',
    wallet: null,
    codeMasked: null,
    qrSvg: '<svg viewBox="0 0 10 10"></svg>',
    qrPayload: 'https://qr.example/P1',
    deadlineAtMs: T0 + 120_000,
    createdAtMs: T0,
    message: '请扫码',
    amountText: '36.00',
    ...p,
  });
const codeView = (p: Partial<PaymentView> = {}) => paymentFixture({ id: 'P2', amountText: '36.00', createdAtMs: T0, ...p });

/** The core: one handler per command; the calls in order. */
let core: Record<string, (args: Record<string, unknown>) => unknown>;
let calls: [string, Record<string, unknown> | undefined][];
const called = (cmd: string) => calls.filter(([c]) => c === cmd).map(([, a]) => a);
const order = () => calls.map(([c]) => c).filter((c) => c !== 'users' && c !== 'today');

function emit(name: string, payload: unknown): void {
  for (const h of mocks.listeners.get(name) ?? []) h({ payload });
}

async function settle(): Promise<void> {
  for (let i = 0; i < 30; i++) await Promise.resolve();
}

/** The app booted in kiosk mode and the kiosk mounted on a fake window. */
async function kioskOn(b: Bootstrap = boot()) {
  core.bootstrap = () => b;
  const a = new AppState();
  await a.start();
  expect(a.status).toBe('ready');
  const k = new KioskState(kioskHost(a));
  const target = { added: [] as string[], addEventListener: vi.fn((t: string) => target.added.push(t)), removeEventListener: vi.fn() };
  const teardown = k.mount(target as unknown as Window);
  await settle();
  return { a, k, target, teardown };
}

const key = (k: string, t: number, p: Partial<KeyboardEvent> = {}) => Object.assign(fakeKey(k, t), p) as unknown as KeyboardEvent & { defaultPrevented: boolean };

/** The wedge scanner types `code` fast and Enter, through the kiosk's key handler. */
function wedge(k: KioskState, code: string, start = 50_000) {
  const keys = [...[...code].map((c, i) => key(c, start + i * 5)), key('Enter', start + code.length * 5)];
  for (const e of keys) k.onKeydown(e);
  return keys;
}

const quotes: Record<string, string> = { 'noodles×1': '18.00', 'noodles×2': '36.00', 'noodles×2,tea×1': '42.00', 'tea×1': '6.00' };

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
  vi.stubGlobal('sessionStorage', { getItem: () => null, setItem: () => undefined });
  vi.stubGlobal('document', { documentElement: { lang: '' }, activeElement: null });
  vi.stubGlobal('HTMLInputElement', class {});
  vi.stubGlobal('HTMLTextAreaElement', class {});
  vi.stubGlobal('window', {
    setTimeout: (...a: Parameters<typeof setTimeout>) => setTimeout(...a),
    clearTimeout: (id: number) => clearTimeout(id),
    setInterval: (...a: Parameters<typeof setInterval>) => setInterval(...a),
    clearInterval: (id: number) => clearInterval(id),
  });
  mocks.listeners.clear();
  mocks.playSound.mockReset();
  calls = [];
  core = {
    today: () => todayFixture(),
    users: () => [managerUser, clerkUser],
    kiosk_quote: (a) => {
      const k = (a.items as BasketItem[]).map((i) => `${i.id}×${i.qty}`).join(',');
      return { amountFen: 1, amountText: quotes[k] ?? '99.99' };
    },
    kiosk_order: () => charge(),
    start_qr: () => qrView(),
    arm_scan: () => null,
    disarm_scan: () => null,
    cancel_payment: (a) => qrView({ id: a.id as string, phase: 'cancelling' }),
    cancel_charge: (a) => charge({ id: a.id as string, state: 'cancelling' }),
  };
  mocks.invoke.mockReset();
  mocks.invoke.mockImplementation(async (cmd: string, args?: Record<string, unknown>) => {
    calls.push([cmd, args]);
    const h = core[cmd];
    if (!h) throw { code: 'unknown', message: `no ${cmd}` };
    return h(args ?? {});
  });
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('mounting', () => {
  it('listens to the core and takes the keys first', async () => {
    const { a, k, target, teardown } = await kioskOn();
    expect(k.screen).toBe('start');
    for (const ev of ['payment-update', 'charge-update', 'scan', 'camera-preview']) {
      // the app's one listener: the kiosk follows the core's events through it
      expect(mocks.listeners.get(ev)?.size, ev).toBe(1);
    }
    expect(target.added).toEqual(expect.arrayContaining(['keydown', 'pointerdown', 'touchstart']));
    expect(target.addEventListener).toHaveBeenCalledWith('keydown', expect.any(Function), { capture: true });
    // the kiosk does not touch the clerk window's capture: kiosk mode itself turns its reading off
    expect(a.capture.enabled).toBe(true);
    expect(a.readsScans).toBe(false);
    teardown();
    expect(a.capture.enabled).toBe(true);
    expect(mocks.listeners.get('charge-update')?.size).toBe(1);
    // unmounted, the kiosk hears nothing more; the app still follows the charge
    emit('charge-update', charge({ id: 'CH0007', origin: 'api' }));
    expect(k.screen).toBe('start');
    expect(a.charge?.id).toBe('CH0007');
  });

  it('goes to the pay screen for the bootstrap’s charge, with the attempt it is paying', async () => {
    const { k } = await kioskOn(boot({ charge: charge({ origin: 'api', state: 'paying', paymentId: 'P1' }), active: qrView() }));
    expect(k.screen).toBe('pay');
    expect(k.state).toBe('waiting');
    expect(k.countdown).toBe(120);
    const html = render(KioskPay, { props: { kiosk: k } }).body;
    expect(html).toMatch(/data-testid="kiosk-state"[^>]*data-state="waiting"/);
    expect(html).toMatch(/data-testid="kiosk-qr"[^>]*data-payload="https:\/\/qr.example\/P1"/);
    expect(html).toMatch(/data-testid="kiosk-countdown"[^>]*data-seconds="120"/);
    expect(html).toMatch(/data-testid="kiosk-amount"[^>]*>¥ 36.00</);
    expect(html).toMatch(/data-testid="kiosk-subject"[^>]*>牛肉面 ×2</);
    expect(html).toContain('data-testid="kiosk-cancel"');
  });
});

describe('the start screen', () => {
  it('adds and removes items; the total is the core’s answer for the basket on screen', async () => {
    const { k } = await kioskOn();
    expect(k.canPay).toBe(false);
    k.add('noodles');
    k.add('noodles');
    await settle();
    expect(called('kiosk_quote').at(-1)).toEqual({ items: [{ id: 'noodles', qty: 2 }] });
    expect(k.quote?.amountText).toBe('36.00');
    expect(k.canPay).toBe(true);
    k.add('tea');
    expect(k.canPay).toBe(false); // the total on screen is for the basket before
    await settle();
    expect(called('kiosk_quote').at(-1)).toEqual({
      items: [
        { id: 'noodles', qty: 2 },
        { id: 'tea', qty: 1 },
      ],
    });
    expect(k.quote?.amountText).toBe('42.00');
    const html = render(KioskStart, { props: { kiosk: k } }).body;
    expect(html).toMatch(/data-testid="kiosk-product"[^>]*data-id="noodles"/);
    expect(html).toMatch(/data-testid="kiosk-qty"[^>]*data-id="noodles"[^>]*>2</);
    expect(html).toMatch(/data-testid="kiosk-qty"[^>]*data-id="tea"[^>]*>1</);
    expect(html).toMatch(/data-testid="kiosk-total"[^>]*>(<!--[^>]*-->)?¥ 42.00/);
    expect(html).toContain('data-testid="kiosk-add"');
    expect(html).toContain('data-testid="kiosk-remove"');
    expect(html).not.toMatch(/data-testid="kiosk-pay"[^>]*disabled/);
    k.remove('tea');
    k.remove('noodles');
    k.remove('noodles');
    await settle();
    expect(k.count).toBe(0);
    expect(k.quote).toBeNull();
    expect(render(KioskStart, { props: { kiosk: k } }).body).toMatch(/data-testid="kiosk-pay"[^>]*disabled/);
  });

  it('shows only the answer for the latest basket', async () => {
    const { k } = await kioskOn();
    const answers: ((v: unknown) => void)[] = [];
    core.kiosk_quote = () => new Promise((r) => answers.push(r));
    k.add('noodles');
    k.add('noodles');
    await settle();
    answers[1]({ amountFen: 1, amountText: '36.00' });
    await settle();
    answers[0]({ amountFen: 1, amountText: '18.00' });
    await settle();
    expect(k.quote?.amountText).toBe('36.00');
    expect(k.canPay).toBe(true);
  });

  it('shows a refused basket’s message and cannot pay', async () => {
    const { k } = await kioskOn();
    core.kiosk_quote = () => {
      throw { code: 'amount', message: '金额超过上限 50000.00' };
    };
    k.add('tea');
    await settle();
    expect(k.quoteError).toBe('金额超过上限 50000.00');
    expect(k.canPay).toBe(false);
    expect(render(KioskStart, { props: { kiosk: k } }).body).toMatch(/data-testid="kiosk-message"[^>]*>金额超过上限 50000.00</);
  });

  it('says it waits for an order when there is no menu', async () => {
    const { k } = await kioskOn(boot({}, { products: [] }));
    const html = render(KioskStart, { props: { kiosk: k } }).body;
    expect(html).toContain('data-testid="kiosk-waiting-order"');
    expect(html).not.toContain('kiosk-product');
  });

  it('takes the charge the app heard of before the kiosk listened', async () => {
    core.bootstrap = () => boot();
    const a = new AppState();
    await a.start();
    a.applyCharge(charge({ id: 'CH0005', origin: 'api' }));
    const k = new KioskState(kioskHost(a));
    const teardown = k.mount({ addEventListener: vi.fn(), removeEventListener: vi.fn() } as unknown as Window);
    // at once, not after the subscription: no flash of the start screen
    expect(k.model?.charge.id).toBe('CH0005');
    await settle();
    expect(k.screen).toBe('pay');
    teardown();
  });

  it('an API charge that came while another was on screen follows once that one is done', async () => {
    const { k } = await kioskOn(boot({ charge: charge() }, { tenders: ['qr', 'code'] }));
    emit('charge-update', charge({ id: 'CH0002', origin: 'api' }));
    expect(k.model?.charge.id).toBe('CH0001');
    core.cancel_charge = (a) => charge({ id: a.id as string, state: 'cancelled', final: true });
    await k.cancel();
    expect(k.screen).toBe('pay');
    expect(k.model?.charge.id).toBe('CH0002');
  });

  it('takes an API charge straight to the pay screen', async () => {
    const { k } = await kioskOn();
    emit('charge-update', charge({ id: 'CH0009', origin: 'api', externalOrderId: 'A-1', subject: '外卖 #17' }));
    expect(k.screen).toBe('pay');
    expect(k.model?.charge.id).toBe('CH0009');
    expect(k.state).toBe('choose');
    const html = render(KioskPay, { props: { kiosk: k } }).body;
    expect(html).toContain('data-testid="kiosk-tender-qr"');
    expect(html).toContain('data-testid="kiosk-tender-code"');
    expect(html).toMatch(/data-testid="kiosk-subject"[^>]*>外卖 #17</);
  });
});

describe('paying by QR', () => {
  it('orders, starts the only tender for the charge, shows the QR and then paid, and returns to the start', async () => {
    const { k } = await kioskOn(boot({}, { tenders: ['qr'], method: 'WECHAT' }));
    k.add('noodles');
    k.add('noodles');
    await settle();
    await k.order();
    await settle();
    expect(called('kiosk_order')).toEqual([{ items: [{ id: 'noodles', qty: 2 }] }]);
    expect(called('start_qr')).toEqual([{ channel: 'abc', amountText: '', method: 'WECHAT', charge: 'CH0001' }]);
    expect(k.screen).toBe('pay');
    expect(k.state).toBe('waiting');

    emit('charge-update', charge({ state: 'paying', paymentId: 'P1' }));
    emit('payment-update', qrView({ state: 'paid', phase: 'done', final: true, message: '支付成功' }));
    expect(k.screen).toBe('result');
    expect(k.state).toBe('paid');
    expect(mocks.playSound).toHaveBeenCalledWith('success');
    expect(k.count).toBe(0); // the basket is done
    const html = render(KioskResult, { props: { kiosk: k } }).body;
    expect(html).toMatch(/data-testid="kiosk-state"[^>]*data-state="paid"/);
    expect(html).toMatch(/data-testid="kiosk-amount"[^>]*>¥ 36.00</);

    vi.advanceTimersByTime(5_000);
    expect(k.paidLeft).toBe(1);
    expect(k.screen).toBe('result');
    vi.advanceTimersByTime(1_000);
    expect(k.screen).toBe('start');
    expect(k.model).toBeNull();
  });

  it('lets the customer choose among two tenders', async () => {
    const { k } = await kioskOn();
    emit('charge-update', charge());
    expect(k.state).toBe('choose');
    await settle();
    expect(called('start_qr')).toHaveLength(0);
    expect(called('arm_scan')).toHaveLength(0);
    await k.choose('qr');
    expect(called('start_qr')).toEqual([{ channel: 'abc', amountText: '', method: null, charge: 'CH0001' }]);
    expect(k.state).toBe('waiting');
  });

  it('a refused start is a failure; try again starts a new attempt for the same charge', async () => {
    const { k } = await kioskOn(boot({ charge: charge() }, { tenders: ['qr'] }));
    await settle();
    expect(k.state).toBe('waiting');
    emit('payment-update', qrView({ state: 'closed', phase: 'done', final: true, message: '二维码已过期' }));
    expect(k.state).toBe('failed');
    expect(mocks.playSound).toHaveBeenCalledWith('failure');
    emit('charge-update', charge({ lastFailure: '二维码已过期，请重试' }));
    expect(k.model?.message).toBe('二维码已过期，请重试');
    const html = render(KioskResult, { props: { kiosk: k } }).body;
    expect(html).toMatch(/data-testid="kiosk-state"[^>]*data-state="failed"/);
    expect(html).toMatch(/data-testid="kiosk-message"[^>]*>二维码已过期，请重试</);
    expect(html).toContain('data-testid="kiosk-retry"');
    expect(html).toContain('data-testid="kiosk-cancel"');

    core.start_qr = () => {
      throw { code: 'channel', message: '通道暂不可用' };
    };
    k.retry();
    await settle();
    expect(called('start_qr')).toHaveLength(2);
    expect(called('start_qr')[1]).toEqual({ channel: 'abc', amountText: '', method: null, charge: 'CH0001' });
    expect(k.state).toBe('failed');
    expect(k.model?.message).toBe('通道暂不可用');
  });

  it('Cancel while waiting cancels the payment, then the charge, and returns to the start', async () => {
    const { k } = await kioskOn(boot({ charge: charge() }, { tenders: ['qr'] }));
    await settle();
    k.add('tea'); // not on the start screen: ignored
    await k.cancel();
    expect(order()).toEqual(['bootstrap', 'start_qr', 'cancel_payment', 'cancel_charge']);
    expect(called('cancel_payment')).toEqual([{ id: 'P1' }]);
    expect(called('cancel_charge')).toEqual([{ id: 'CH0001' }]);
    expect(k.state).toBe('cancelling');
    emit('charge-update', charge({ state: 'cancelled', final: true }));
    expect(k.screen).toBe('start');
    // a late report of the charge given up does not bring it back
    emit('charge-update', charge({ state: 'open' }));
    expect(k.screen).toBe('start');
  });

  it('Cancel that finds the customer already paid shows paid', async () => {
    const { k } = await kioskOn(boot({ charge: charge() }, { tenders: ['qr'] }));
    await settle();
    core.cancel_charge = () => charge({ state: 'paid', final: true, paymentId: 'P1' });
    await k.cancel();
    expect(k.state).toBe('paid');
  });
});

describe('paying with a payment code', () => {
  it('arms for the charge, reads the wedge scanner, confirms in the wallet, fails, tries again', async () => {
    const { k, a } = await kioskOn(boot({}, { tenders: ['code'] }));
    emit('charge-update', charge({ origin: 'api' }));
    await settle();
    expect(called('arm_scan')).toEqual([{ channel: 'abc', amountText: '', charge: 'CH0001' }]);
    expect(k.state).toBe('waiting');
    expect(render(KioskPay, { props: { kiosk: k } }).body).toMatch(/data-testid="kiosk-state"[^>]*data-state="waiting"/);

    core.submit_scan = () =>
      ({ source: 'wedge', codeShown: '2800**********10', atMs: T0, outcome: { kind: 'charging', payment: codeView() }, message: '' }) satisfies ScanEvent;
    const keys = wedge(k, '280012345678901234');
    // the keys went to the scan, not to the page (the app's own handler skips prevented keys)
    expect(keys.every((e) => e.defaultPrevented)).toBe(true);
    expect(a.amount).toBe('');
    await settle();
    expect(called('submit_scan')).toEqual([{ code: '280012345678901234', source: 'wedge' }]);
    expect(k.state).toBe('sending');

    emit('payment-update', codeView({ phase: 'waiting', message: '请在手机上确认' }));
    expect(k.state).toBe('confirm');
    expect(render(KioskPay, { props: { kiosk: k } }).body).toMatch(/data-testid="kiosk-state"[^>]*data-state="confirm"/);
    emit('payment-update', codeView({ phase: 'checking' }));
    expect(k.state).toBe('checking');
    emit('payment-update', codeView({ state: 'failed', phase: 'done', final: true, message: '余额不足' }));
    expect(k.state).toBe('failed');
    expect(k.model?.message).toBe('余额不足');

    k.retry();
    await settle();
    expect(called('arm_scan')).toHaveLength(2);
    expect(k.state).toBe('waiting');
  });

  it('a refused code keeps the scanner armed with the core’s message; a serial scan pays too', async () => {
    const { k } = await kioskOn(boot({ charge: charge() }, { tenders: ['code'] }));
    await settle();
    core.submit_scan = () =>
      ({ source: 'wedge', codeShown: '12345678', atMs: T0, outcome: { kind: 'rejected', code: 'not_payment_code' }, message: '这不是付款码' }) satisfies ScanEvent;
    wedge(k, '12345678');
    await settle();
    expect(k.state).toBe('waiting');
    expect(k.model?.message).toBe('这不是付款码');
    expect(render(KioskPay, { props: { kiosk: k } }).body).toMatch(/data-testid="kiosk-message"[^>]*>这不是付款码</);

    emit('scan', { source: 'serial', codeShown: '2800**', atMs: T0, outcome: { kind: 'charging', payment: codeView({ phase: 'waiting' }) }, message: '' });
    expect(k.state).toBe('confirm');
  });

  it('typed keys outside the armed wait are left to the page; Cancel while armed disarms first', async () => {
    const { k } = await kioskOn(boot({ charge: charge() }));
    await settle();
    expect(k.state).toBe('choose');
    const keys = wedge(k, '12');
    expect(keys.some((e) => e.defaultPrevented)).toBe(false);
    await k.choose('code');
    expect(k.state).toBe('waiting');
    await k.cancel();
    expect(order()).toEqual(['bootstrap', 'arm_scan', 'disarm_scan', 'cancel_charge']);
  });

  it('another tender while armed disarms and goes back to the choice', async () => {
    const { k } = await kioskOn(boot({ charge: charge() }));
    await k.choose('code');
    k.otherTender();
    await settle();
    expect(called('disarm_scan')).toHaveLength(1);
    expect(k.state).toBe('choose');
  });
});

describe('idle reset', () => {
  it('warns for the last 10 seconds, a touch starts over, then it cancels the charge and empties the start screen', async () => {
    const { k } = await kioskOn(boot({ charge: charge() }));
    await settle();
    expect(k.state).toBe('choose');
    vi.advanceTimersByTime(49_000);
    expect(k.idleWarning).toBeNull();
    vi.advanceTimersByTime(1_250);
    expect(k.idleWarning).toBe(10);
    expect(render(KioskIdle, { props: { kiosk: k } }).body).toContain('data-testid="kiosk-idle-warning"');
    k.activity(Date.now()); // a touch
    expect(k.idleWarning).toBeNull();
    vi.advanceTimersByTime(55_000);
    expect(k.idleWarning).toBe(5);
    expect(called('cancel_charge')).toHaveLength(0);
    vi.advanceTimersByTime(5_000);
    expect(k.screen).toBe('start');
    await settle();
    expect(called('cancel_charge')).toEqual([{ id: 'CH0001' }]);
    // the charge's own reports afterwards do not bring it back
    emit('charge-update', charge({ state: 'cancelling' }));
    emit('charge-update', charge());
    expect(k.screen).toBe('start');
  });

  it('empties a basket left on the start screen', async () => {
    const { k } = await kioskOn();
    k.add('tea');
    await settle();
    vi.advanceTimersByTime(60_250);
    expect(k.count).toBe(0);
    expect(k.quote).toBeNull();
    expect(called('cancel_charge')).toHaveLength(0);
  });

  it('never resets while a payment attempt is under way; the failed screen counts afresh', async () => {
    const { k } = await kioskOn(boot({ charge: charge() }, { tenders: ['qr'] }));
    await settle();
    expect(k.state).toBe('waiting');
    vi.advanceTimersByTime(10 * 60_000);
    expect(k.idleWarning).toBeNull();
    expect(k.state).toBe('waiting');
    expect(called('cancel_charge')).toHaveLength(0);
    emit('payment-update', qrView({ state: 'closed', phase: 'done', final: true, message: '二维码已过期' }));
    vi.advanceTimersByTime(250);
    expect(k.state).toBe('failed');
    expect(k.idleWarning).toBeNull();
    vi.advanceTimersByTime(50_000);
    expect(k.idleWarning).toBe(10);
    vi.advanceTimersByTime(10_000);
    expect(k.screen).toBe('start');
  });

  it('waits while the manager’s PIN prompt is open', async () => {
    const { k, a } = await kioskOn(boot({ charge: charge() }));
    await settle();
    void k.leave();
    expect(a.approvals.prompt).not.toBeNull();
    vi.advanceTimersByTime(120_000);
    expect(k.state).toBe('choose');
  });
});

describe('scans: the kiosk reads its own, the clerk window none', () => {
  const notWaiting = '扫到付款码，但没有等待收款的订单：请先输入金额';
  /** a key as the window delivers it: the app's capture (installed first), the kiosk's, then the app's keydown */
  const deliver = (a: AppState, k: KioskState, e: KeyboardEvent) => {
    a.capture.handleKey(e);
    k.onKeydown(e);
    if (!e.defaultPrevented) a.onKeydown(e);
  };
  const wedgeKeys = (code: string, start: number) => [
    ...[...code].map((c, i) => key(c, start + i * 5)),
    key('Enter', start + code.length * 5),
  ];

  it('a payment code on the start screen: nothing for the customer, no clerk notice, nothing sent', async () => {
    const { k, a } = await kioskOn();
    for (const e of wedgeKeys('280012345678901234', 50_000)) deliver(a, k, e);
    emit('scan', { source: 'serial', codeShown: '2800**', atMs: T0, outcome: { kind: 'not_waiting' }, message: notWaiting });
    await settle();
    expect(called('submit_scan')).toEqual([]);
    expect(a.notice).toBeNull();
    expect(a.active).toBeNull();
    expect(a.amount).toBe('');
    expect(k.screen).toBe('start');
  });

  it('armed: the wedge code goes once, through the kiosk; a serial read pays the charge on the kiosk, with one beep', async () => {
    const { k, a } = await kioskOn(boot({ charge: charge() }, { tenders: ['code'] }));
    await settle();
    expect(k.state).toBe('waiting');
    core.submit_scan = () =>
      ({ source: 'wedge', codeShown: '12345678', atMs: T0, outcome: { kind: 'rejected', code: 'not_payment_code' }, message: '这不是付款码' }) satisfies ScanEvent;
    for (const e of wedgeKeys('12345678', 50_000)) deliver(a, k, e);
    await settle();
    expect(called('submit_scan')).toEqual([{ code: '12345678', source: 'wedge' }]);
    expect(k.model?.message).toBe('这不是付款码');
    expect(a.notice).toBeNull();

    mocks.playSound.mockReset();
    emit('scan', { source: 'serial', codeShown: '2800**', atMs: T0, outcome: { kind: 'charging', payment: codeView({ phase: 'waiting' }) }, message: '' });
    expect(k.state).toBe('confirm');
    expect(a.active).toBeNull();
    expect(a.notice).toBeNull();
    expect(mocks.playSound.mock.calls).toEqual([['read']]);
  });

  it('once kiosk mode is left, the clerk window reads scans again', async () => {
    const { k, a, teardown } = await kioskOn();
    core.leave_kiosk = () => bootFixture({ kiosk: null, people: peopleFixture() });
    void k.leave();
    await settle();
    a.approvals.input('1234');
    await a.approvals.submit();
    await settle();
    teardown();
    expect(a.kiosk).toBeNull();
    expect(a.readsScans).toBe(true);
    core.submit_scan = () =>
      ({ source: 'wedge', codeShown: '2800**', atMs: T0, outcome: { kind: 'not_waiting' }, message: notWaiting }) satisfies ScanEvent;
    for (const e of wedgeKeys('280012345678901234', 90_000)) {
      a.capture.handleKey(e);
      if (!e.defaultPrevented) a.onKeydown(e);
    }
    await settle();
    expect(called('submit_scan')).toEqual([{ code: '280012345678901234', source: 'wedge' }]);
    expect(a.notice).toBe(notWaiting);
  });
});

describe('leaving kiosk mode', () => {
  it('Ctrl+Alt+Q opens the PIN prompt for leave_kiosk; Cancel keeps the kiosk', async () => {
    const { k, a } = await kioskOn(boot({ charge: charge() }));
    await settle();
    const e = key('q', 1, { ctrlKey: true, altKey: true, code: 'KeyQ' } as Partial<KeyboardEvent>);
    k.onKeydown(e);
    expect(e.defaultPrevented).toBe(true);
    expect(a.approvals.prompt?.action).toBe('leave_kiosk');
    a.approvals.cancel();
    await settle();
    expect(called('leave_kiosk')).toHaveLength(0);
    expect(a.kiosk).not.toBeNull();
    expect(k.state).toBe('choose');
  });

  it('a wrong PIN keeps the prompt and the kiosk; the right one leaves', async () => {
    const { k, a } = await kioskOn();
    void k.leave();
    await settle();
    const p = a.approvals.prompt;
    expect(p?.userId).toBe(managerUser.id);
    core.leave_kiosk = () => {
      throw { code: 'wrong_pin', message: 'PIN 不正确，还可以再试 4 次' };
    };
    a.approvals.input('0000');
    await a.approvals.submit();
    expect(a.approvals.prompt?.error).toBe('PIN 不正确，还可以再试 4 次');
    expect(a.kiosk).not.toBeNull();
    expect(k.leaving).toBe(false);

    core.leave_kiosk = () => bootFixture({ kiosk: null, people: peopleFixture() });
    a.approvals.input('1234');
    await a.approvals.submit();
    await settle();
    expect(called('leave_kiosk').at(-1)).toEqual({ approval: { userId: managerUser.id, pin: '1234' } });
    expect(a.approvals.prompt).toBeNull();
    expect(a.kiosk).toBeNull();
    expect(k.leaving).toBe(true);
  });

  it('holding the hidden corner for 3 seconds opens the prompt; letting go earlier does not', async () => {
    const { k, a } = await kioskOn();
    k.exitPress.start();
    vi.advanceTimersByTime(EXIT_HOLD_MS - 500);
    k.exitPress.cancel();
    vi.advanceTimersByTime(5_000);
    expect(a.approvals.prompt).toBeNull();
    k.exitPress.start();
    vi.advanceTimersByTime(EXIT_HOLD_MS - 1);
    expect(a.approvals.prompt).toBeNull();
    vi.advanceTimersByTime(1);
    expect(a.approvals.prompt?.action).toBe('leave_kiosk');
  });
});

describe('language', () => {
  it('switches through the core and takes the charge’s texts again; the clerk window still reads no scans', async () => {
    const { k, a } = await kioskOn(boot({ charge: charge({ lastFailure: '余额不足' }) }));
    expect(k.state).toBe('failed');
    core.set_language = () =>
      boot({ lang: 'en', charge: charge({ lastFailure: 'Insufficient balance' }) }, { welcome: 'Welcome to Noodle House' });
    await k.toggleLanguage();
    expect(called('set_language')).toEqual([{ lang: 'en' }]);
    expect(k.lang).toBe('en');
    expect(k.info?.welcome).toBe('Welcome to Noodle House');
    expect(k.model?.message).toBe('Insufficient balance');
    expect(a.readsScans).toBe(false);
  });
});

describe('the kiosk root', () => {
  it('renders the start screen with its test ids', async () => {
    core.bootstrap = () => boot();
    await app.start();
    const html = render(Kiosk).body;
    expect(html).toMatch(/data-testid="kiosk"[^>]*data-screen="start"/);
    expect(html).toContain('data-testid="kiosk-exit"');
    expect(html).toContain('data-testid="kiosk-lang"');
    expect(html).toContain('data-testid="kiosk-logo"');
    expect(html).toMatch(/data-testid="kiosk-welcome"[^>]*>欢迎光临 小面馆</);
    expect(html).toContain('请选择商品');
    expect(html).toContain('Choose your items');
    expect(abcChannel.id).toBe('abc');
  });
});
