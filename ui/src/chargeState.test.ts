// Charges in the clerk window, against the real AppState with the core mocked: the banner, the
// keypad locked to the charge's amount, `charge` passed to start_qr / arm_scan, the preferred
// tender and channel, charge-update handling, Dismiss, and kiosk mode (no clerk keys, leaving it).
// Screens are rendered with Svelte's server renderer.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { render } from 'svelte/server';
import type { Bootstrap, Channel, CoreEvents, PaymentView } from './api';
import type { ChargeView, KioskInfo } from './charges';

vi.mock('./api', async (importOriginal) => (await import('./testApiMock')).mockApiModule(await importOriginal()));
vi.mock('./sounds', () => ({ playSound: vi.fn() }));

import { AppState, app } from './state.svelte';
import AmountEntry from './components/AmountEntry.svelte';
import {
  abcChannel,
  bootFixture,
  chargeFixture,
  clerkUser,
  fakeKey,
  lakalaChannel,
  managerUser,
  paidFixture,
  paymentFixture,
  peopleFixture,
  signInPeople,
  stubBrowser,
  todayFixture,
} from './testFixtures';
import { apiMock as api, coreEvents, resetApiMock } from './testApiMock';

/** lakala with two methods (no UnionPay QR) */
const lakala: Channel = { ...lakalaChannel, methods: lakalaChannel.methods.slice(0, 2) };

const kioskInfo: KioskInfo = {
  welcome: '欢迎光临',
  logoDataUrl: null,
  idleResetSeconds: 60,
  paidResetSeconds: 8,
  tenders: ['qr', 'code'],
  channel: 'lakala',
  method: 'WECHAT',
  products: [{ id: 'noodles', name: '牛肉面', priceFen: 1340, priceText: '13.40' }],
};

const charge = chargeFixture;

function boot(p: Partial<Bootstrap> = {}): Bootstrap {
  return bootFixture({ channels: [abcChannel, lakala], defaultChannel: 'abc', ...p });
}

function attempt(p: Partial<PaymentView> = {}): PaymentView {
  return paymentFixture({ id: 'T1', amountFen: 2680, amountText: '26.80', ...p });
}

const key = (k: string) => fakeKey(k) as unknown as KeyboardEvent & { defaultPrevented: boolean };
const settle = () => new Promise((r) => setTimeout(r, 0));

const fire = (): Partial<CoreEvents> => {
  if (!coreEvents.handlers) throw new Error('not subscribed');
  return coreEvents.handlers;
};
const chargeUpdate = (c: ChargeView) => fire().onCharge?.(c);

let store: Map<string, string>;

async function ready(b: Bootstrap = boot(), state: AppState = new AppState()): Promise<AppState> {
  api.bootstrap.mockResolvedValueOnce(b);
  await state.start();
  expect(state.status).toBe('ready');
  return state;
}

/** The shared `app` (the components read it) booted afresh. It subscribed once, in the first test
 * that used it: its tests call `applyCharge` / `applyUpdate` (what the events call) directly. */
async function readyApp(b: Bootstrap = boot()): Promise<AppState> {
  app.active = null;
  app.scan = null;
  app.busy = null;
  app.charge = null;
  app.amount = '';
  app.amountError = null;
  app.channelId = '';
  return ready(b, app);
}

beforeEach(() => {
  store = new Map();
  stubBrowser({ getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => store.set(k, v) });
  resetApiMock();
  api.today.mockResolvedValue(todayFixture());
  api.users.mockResolvedValue([managerUser, clerkUser]);
});

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('the charge banner and the locked keypad', () => {
  it('shows the charge from the bootstrap in place of the typed amount', async () => {
    await readyApp(boot({ charge: charge() }));
    expect(app.openCharge?.id).toBe('CH0001');
    expect(app.amountShown).toBe('26.80');
    const html = render(AmountEntry).body;
    expect(html).toMatch(/data-testid="charge-banner"[^>]*data-id="CH0001"[^>]*data-state="open"/);
    expect(html).toMatch(/data-testid="charge-amount"[^>]*>26.80</);
    expect(html).toMatch(/data-testid="amount-display"[^>]*>\s*¥ <span[^>]*>26.80</);
    expect(html).toMatch(/data-testid="charge-subject"[^>]*>牛肉面 ×2</);
    expect(html).toMatch(/data-testid="charge-order-id"[^>]*>ORD-778</);
    expect(html).toMatch(/data-testid="charge-dismiss"[^>]*data-confirm="false"/);
    expect(html).not.toContain('data-testid="charge-failure"');
    // every key of the keypad is locked
    expect(html).toMatch(/data-testid="key-7"[^>]*disabled/);
    expect(html).toMatch(/data-testid="key-clear"[^>]*disabled/);
  });

  it('leaves out what the charge does not have', async () => {
    await readyApp(boot({ charge: charge({ subject: '', externalOrderId: null, origin: 'kiosk' }) }));
    const html = render(AmountEntry).body;
    expect(html).toContain('data-testid="charge-banner"');
    expect(html).toContain('自助点单');
    expect(html).not.toContain('data-testid="charge-subject"');
    expect(html).not.toContain('data-testid="charge-order-id"');
  });

  it('ignores the keypad and the digit keys while a charge is open', async () => {
    const s = await ready(boot({ charge: charge() }));
    s.amount = '5';
    s.press('7');
    s.press('clear');
    s.onKeydown(key('9'));
    s.onKeydown(key('Backspace'));
    expect(s.amount).toBe('5');
    expect(s.amountShown).toBe('26.80');
  });

  it('shows no banner and the typed amount without a charge', async () => {
    await readyApp();
    app.amount = '3.5';
    const html = render(AmountEntry).body;
    expect(html).not.toContain('charge-banner');
    expect(html).toMatch(/data-testid="amount-display"[^>]*>¥ <span[^>]*>3.5</);
    expect(html).not.toMatch(/data-testid="key-7"[^>]*disabled/);
  });
});

describe('collecting a charge', () => {
  it('arms the scan for the charge: no amount check, "" as the amount', async () => {
    const s = await ready(boot({ charge: charge() }));
    s.amount = '5';
    s.onKeydown(key('Enter'));
    await settle();
    expect(api.checkAmount).not.toHaveBeenCalled();
    expect(api.armScan).toHaveBeenCalledWith('abc', '', 'CH0001');
    expect(s.scan?.amountText).toBe('26.80');
  });

  it('starts the QR for the charge with the method picked', async () => {
    const s = await ready(boot({ charge: charge() }));
    s.setChannel('lakala');
    s.selectMethod('WECHAT');
    api.startQr.mockResolvedValueOnce(attempt({ flow: 'qr', channel: 'lakala', phase: 'waiting' }));
    await s.startQr();
    expect(api.checkAmount).not.toHaveBeenCalled();
    expect(api.startQr).toHaveBeenCalledWith('lakala', '', 'WECHAT', 'CH0001');
    expect(s.active?.id).toBe('T1');
  });

  it('shows the core’s refusal like an amount error', async () => {
    const s = await ready(boot({ charge: charge() }));
    api.armScan.mockRejectedValueOnce({ code: 'charge', message: '订单已在收款中' });
    await s.openScan();
    expect(s.scan).toBeNull();
    expect(s.amountError).toBe('订单已在收款中');
  });

  it('Enter starts the preferred QR, and the buttons say so', async () => {
    await readyApp(boot({ charge: charge({ tender: 'qr' }) }));
    expect(app.enterAction).toBe('qr');
    const html = render(AmountEntry).body;
    expect(html).toMatch(/data-testid="action-qr"[^>]*data-preferred="true"/);
    expect(html).toContain('Enter / F2');
    api.startQr.mockResolvedValueOnce(attempt({ flow: 'qr', phase: 'waiting' }));
    app.onKeydown(key('Enter'));
    await settle();
    expect(api.startQr).toHaveBeenCalledWith('abc', '', null, 'CH0001');
    expect(api.armScan).not.toHaveBeenCalled();
  });

  it('selects the preferred channel for the charge and gives the clerk’s choice back afterwards', async () => {
    const s = await ready(boot());
    s.setChannel('abc');
    expect(s.channel?.id).toBe('abc');
    chargeUpdate(charge({ channel: 'lakala', tender: 'code' }));
    expect(s.channel?.id).toBe('lakala');
    // the charge's preference is not remembered as the clerk's choice
    expect(store.get('paydesk.tender') ?? '').not.toContain('lakala');
    s.onKeydown(key('Enter'));
    await settle();
    expect(api.armScan).toHaveBeenLastCalledWith('lakala', '', 'CH0001');
    s.closeScan();
    // cancelled by the ordering system: the banner goes, the clerk's channel comes back
    chargeUpdate(charge({ channel: 'lakala', state: 'cancelled', final: true }));
    expect(s.charge).toBeNull();
    expect(s.channel?.id).toBe('abc');
  });

  it('keeps a channel the clerk picks while the charge is open', async () => {
    const s = await ready(boot({ charge: charge({ channel: 'lakala' }) }));
    expect(s.channel?.id).toBe('lakala');
    s.setChannel('abc');
    chargeUpdate(charge({ channel: 'lakala', state: 'cancelled', final: true }));
    expect(s.channel?.id).toBe('abc');
  });

  it('takes the preferred channel only once the payment on screen is done', async () => {
    const s = await ready(boot());
    api.startQr.mockResolvedValueOnce(paymentFixture({ id: 'OWN', flow: 'qr', phase: 'waiting' }));
    s.amount = '3';
    await s.startQr();
    chargeUpdate(charge({ channel: 'lakala' }));
    expect(s.channel?.id).toBe('abc');
    fire().onUpdate?.(paidFixture({ id: 'OWN' }));
    s.finishPayment();
    expect(s.channel?.id).toBe('lakala');
  });
});

describe('charge updates', () => {
  it('follows one charge: another is ignored until the first is over', async () => {
    const s = await ready();
    chargeUpdate(charge());
    chargeUpdate(charge({ id: 'CH0002', amountText: '9.90' }));
    expect(s.charge?.id).toBe('CH0001');
    chargeUpdate(charge({ state: 'cancelled', final: true }));
    expect(s.charge).toBeNull();
    chargeUpdate(charge({ id: 'CH0002', amountText: '9.90' }));
    expect(s.amountShown).toBe('9.90');
  });

  it('keeps a paid charge until its result is dismissed, then clears the amount', async () => {
    const s = await ready(boot({ charge: charge() }));
    s.amount = '5';
    api.startQr.mockResolvedValueOnce(attempt({ flow: 'qr', phase: 'waiting' }));
    await s.startQr();
    chargeUpdate(charge({ state: 'paying', paymentId: 'T1' }));
    fire().onUpdate?.(paidFixture({ id: 'T1', amountText: '26.80', flow: 'qr' }));
    chargeUpdate(charge({ state: 'paid', final: true, paymentId: 'T1' }));
    // the banner is gone (the charge is final); the result is on screen
    expect(s.openCharge).toBeNull();
    expect(s.charge?.state).toBe('paid');
    expect(s.active?.state).toBe('paid');
    s.finishPayment();
    expect(s.charge).toBeNull();
    expect(s.active).toBeNull();
    expect(s.amount).toBe('');
  });

  it('keeps the charge after a failed attempt with the failure, for another try', async () => {
    await readyApp(boot({ charge: charge() }));
    api.startQr.mockResolvedValueOnce(attempt({ flow: 'qr', phase: 'waiting' }));
    await app.startQr();
    app.applyCharge(charge({ state: 'paying', paymentId: 'T1' }));
    app.applyUpdate(attempt({ flow: 'qr', state: 'failed', phase: 'done', final: true, message: '余额不足' }));
    app.applyCharge(charge({ state: 'open', lastFailure: '余额不足' }));
    app.finishPayment();
    expect(app.openCharge?.lastFailure).toBe('余额不足');
    const html = render(AmountEntry).body;
    expect(html).toMatch(/data-testid="charge-failure"[^>]*>[\s\S]*余额不足/);
    api.startQr.mockResolvedValueOnce(attempt({ id: 'T2', flow: 'qr', phase: 'waiting' }));
    await app.startQr();
    expect(api.startQr).toHaveBeenLastCalledWith('abc', '', null, 'CH0001');
  });

  it('re-localizes the charge with the language', async () => {
    const s = await ready(boot({ charge: charge({ state: 'paying', stateText: '收款中', paymentId: 'T1' }) }));
    api.setLanguage.mockResolvedValueOnce(
      boot({ lang: 'en', charge: charge({ state: 'paying', stateText: 'Paying', paymentId: 'T1' }) }),
    );
    await s.toggleLanguage();
    expect(s.charge?.stateText).toBe('Paying');
  });
});

describe('Dismiss', () => {
  it('cancels the charge at the core and follows its answer', async () => {
    await readyApp(boot({ charge: charge() }));
    api.cancelCharge.mockResolvedValueOnce(charge({ state: 'cancelling', stateText: '正在取消' }));
    await app.cancelCharge();
    expect(api.cancelCharge).toHaveBeenCalledWith('CH0001');
    expect(app.charge?.state).toBe('cancelling');
    const html = render(AmountEntry).body;
    expect(html).toMatch(/data-testid="charge-banner"[^>]*data-state="cancelling"/);
    expect(html).toMatch(/data-testid="charge-dismiss"[^>]*disabled/);
    expect(html).toMatch(/data-testid="action-scan"[^>]*disabled/);
    // nothing starts while the charge is being cancelled
    app.onKeydown(key('Enter'));
    await settle();
    expect(api.armScan).not.toHaveBeenCalled();
    app.applyCharge(charge({ state: 'cancelled', final: true }));
    expect(app.charge).toBeNull();
    expect(render(AmountEntry).body).not.toContain('charge-banner');
  });

  it('shows a refusal where the amount errors show', async () => {
    const s = await ready(boot({ charge: charge() }));
    api.cancelCharge.mockRejectedValueOnce({ code: 'charge', message: '订单已支付' });
    await s.cancelCharge();
    expect(s.amountError).toBe('订单已支付');
    expect(s.chargeBusy).toBe(false);
  });
});

describe('kiosk mode', () => {
  it('takes no clerk key, runs no idle lock and reads no today list', async () => {
    const s = await ready(boot({ kiosk: kioskInfo, people: signInPeople() }));
    expect(s.kiosk).not.toBeNull();
    expect(s.signInShown).toBe(false);
    expect(s.idleConfig.enabled).toBe(false);
    expect(api.today).not.toHaveBeenCalled();
    for (const k of ['F1', 'F2', 'F3', 'F9', 'F10', '7', 'Enter']) s.onKeydown(key(k));
    await settle();
    expect(s.settings).toBeNull();
    expect(s.manager).toBeNull();
    expect(s.amount).toBe('');
    expect(api.armScan).not.toHaveBeenCalled();
    expect(api.startQr).not.toHaveBeenCalled();
  });

  it('leaves kiosk mode with a manager’s PIN and shows the sign-in screen', async () => {
    const s = await ready(boot({ kiosk: kioskInfo, people: signInPeople() }));
    const left = s.withApproval('leave_kiosk', (approval) => api.leaveKiosk(approval));
    expect(s.approvals.prompt?.action).toBe('leave_kiosk');
    // the prompt gets its keys in kiosk mode
    for (const k of ['1', '2', '3', '4']) s.onKeydown(key(k));
    expect(s.approvals.prompt?.pin).toBe('1234');
    api.leaveKiosk.mockResolvedValueOnce(boot({ kiosk: null, people: signInPeople() }));
    s.onKeydown(key('Enter'));
    const b = await left;
    expect(api.leaveKiosk).toHaveBeenCalledWith({ userId: managerUser.id, pin: '1234' });
    expect(b).not.toBeNull();
    s.applyBootstrap(b as Bootstrap);
    expect(s.kiosk).toBeNull();
    expect(s.signInShown).toBe(true);
    expect(s.idleConfig.enabled).toBe(false); // no one signed in yet
  });

  it('shows the clerk window again with a charge the kiosk left open', async () => {
    const s = await ready(boot({ kiosk: kioskInfo }));
    s.applyBootstrap(boot({ kiosk: null, people: peopleFixture(), charge: charge({ origin: 'kiosk' }) }));
    expect(s.kiosk).toBeNull();
    expect(s.openCharge?.origin).toBe('kiosk');
    expect(api.today).toHaveBeenCalled();
  });
});
