// The scan flow against the real AppState with the core mocked: arming on open, disarming on close,
// the UI's own scans through submit_scan, the core's `scan` events, beeps, the wedge thresholds and
// the scanner settings screen. Screens are rendered with Svelte's server renderer.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { render } from 'svelte/server';
import type { Bootstrap, CoreEvents, PaymentView, ScanEvent, ScannerSettingsView, Scanners } from './api';
import type { KioskInfo } from './charges';

const mocks = vi.hoisted(() => ({ playSound: vi.fn() }));

vi.mock('./api', async (importOriginal) => (await import('./testApiMock')).mockApiModule(await importOriginal()));
vi.mock('./sounds', () => ({ playSound: mocks.playSound }));

import { AppState, app } from './state.svelte';
import ScanOverlay from './components/ScanOverlay.svelte';
import PaymentOverlay from './components/PaymentOverlay.svelte';
import Header from './components/Header.svelte';
import SettingsModal from './components/SettingsModal.svelte';
import AmountEntry from './components/AmountEntry.svelte';
import {
  bootFixture,
  clerkUser,
  fakeKey,
  managerUser,
  paidFixture,
  paymentFixture,
  scannersFixture,
  stubBrowser,
  todayFixture,
  wedgeScanInto,
} from './testFixtures';
import { apiMock as api, coreEvents, resetApiMock } from './testApiMock';

const scanners = scannersFixture;

const boot = bootFixture;
const payment = paymentFixture;

function scanEvent(p: Partial<ScanEvent> = {}): ScanEvent {
  return {
    source: 'serial',
    codeShown: '2800**********10',
    atMs: Date.now(),
    outcome: { kind: 'charging', payment: payment() },
    message: '正在发送',
    ...p,
  };
}

const charging = (p: Partial<PaymentView> = {}) => ({ kind: 'charging' as const, payment: payment(p) });
const rejected = { kind: 'rejected' as const, code: 'not_payment_code' };

function view(s: Scanners, p: Partial<ScannerSettingsView> = {}): ScannerSettingsView {
  return {
    settings: s,
    ports: [{ name: '/dev/ttyUSB0', description: 'CH340' }],
    cameras: [{ device: '0', name: 'USB Camera' }],
    serial: { state: 'off' },
    camera: { state: 'off' },
    ...p,
  };
}


const key = fakeKey;
const wedgeScan = wedgeScanInto;

/** Answers the open PIN prompt as manager 1 with PIN 1234 and waits for the protected call. */
async function approve(s: AppState) {
  expect(s.approvals.prompt).not.toBeNull();
  s.approvals.pick(1);
  s.approvals.input('1234');
  await s.approvals.submit();
}

/** Lets pending promise callbacks run. */
const settle = () => new Promise((r) => setTimeout(r, 0));

async function ready(b: Bootstrap = boot(), state: AppState = new AppState()): Promise<AppState> {
  api.bootstrap.mockResolvedValueOnce(b);
  await state.start();
  expect(state.status).toBe('ready');
  return state;
}

/** A booted state with the scan overlay open for 12.34. */
async function scanning(b: Bootstrap = boot(), state?: AppState): Promise<AppState> {
  const s = await ready(b, state);
  s.amount = '12.34';
  await s.openScan();
  expect(s.scan).not.toBeNull();
  return s;
}

const fire = () => {
  if (!coreEvents.handlers) throw new Error('not subscribed');
  // the app subscribes with every handler this file fires
  return coreEvents.handlers as CoreEvents;
};

beforeEach(() => {
  stubBrowser();
  resetApiMock();
  mocks.playSound.mockReset();
  api.today.mockResolvedValue(todayFixture());
  api.users.mockResolvedValue([managerUser, clerkUser]);
});

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('amount → scan → done (the keypad arms the scan)', () => {
  it('a typed amount arms the core; a serial scan then pays it with no Enter', async () => {
    const s = await ready();
    for (const k of ['1', '2']) s.onKeydown(key(k) as unknown as KeyboardEvent);
    expect(s.keypadWant).toEqual({ channel: 'abc', amountText: '12', charge: null });
    await s.keypadArm.sync();
    expect(api.armScan).toHaveBeenCalledWith('abc', '12', null);
    expect(s.keypadArmed).toBe(true);
    // the customer's code on the serial scanner: the core started the payment
    fire().onScan(scanEvent({ source: 'serial', outcome: charging({ amountText: '12.00' }) }));
    expect(s.active?.amountText).toBe('12.00');
    expect(s.keypadWant).toBe('hands-off'); // the core disarmed itself; the keypad leaves it alone
    await s.keypadArm.sync();
    expect(s.keypadArmed).toBe(false);
    expect(api.disarmScan).not.toHaveBeenCalled();
  });

  it('a QR sale takes the keypad\'s arming back first: a code scanned meanwhile cannot pay twice', async () => {
    const s = await ready();
    s.amount = '8';
    await s.keypadArm.sync();
    expect(s.keypadArmed).toBe(true);
    const order: string[] = [];
    api.disarmScan.mockImplementation(async () => void order.push('disarm'));
    api.checkAmount.mockResolvedValue({ amountFen: 800, amountText: '8.00' });
    api.startQr.mockImplementation(async () => {
      order.push('start_qr');
      return payment({ flow: 'qr', phase: 'waiting' });
    });
    await s.startQr();
    expect(order).toEqual(['disarm', 'start_qr']);
    expect(s.keypadArmed).toBe(false);
  });

  it('nothing typed, a covered screen or a channel without payment codes arms nothing', async () => {
    const s = await ready();
    expect(s.keypadWant).toBeNull();
    s.amount = '3';
    s.openManager();
    expect(s.keypadWant).toBeNull();
    s.closeManager();
    expect(s.keypadWant).not.toBeNull();
    await s.openScan(); // the overlay owns the arming
    expect(s.keypadWant).toBe('hands-off');
  });

  it('"paid" goes back to the keypad by itself after [counter] paid_close_seconds', async () => {
    const s = await ready(boot({ counter: { paid_close_seconds: 4, start_maximized: true } }));
    vi.useFakeTimers();
    vi.stubGlobal('window', { setTimeout, clearTimeout, setInterval, clearInterval }); // the fake ones
    try {
      s.amount = '12.34';
      fire().onScan(scanEvent({ source: 'serial', outcome: charging() }));
      fire().onUpdate(paidFixture());
      expect(s.active?.state).toBe('paid');
      vi.advanceTimersByTime(3_900);
      expect(s.active).not.toBeNull();
      vi.advanceTimersByTime(200);
      expect(s.active).toBeNull();
      expect(s.amount).toBe('');
    } finally {
      vi.useRealTimers();
    }
  });

  it('the next sale\'s first digit closes "paid" and is typed; 0 seconds keeps it until a key', async () => {
    const s = await ready(boot({ counter: { paid_close_seconds: 0, start_maximized: true } }));
    vi.useFakeTimers();
    vi.stubGlobal('window', { setTimeout, clearTimeout, setInterval, clearInterval }); // the fake ones
    try {
      fire().onScan(scanEvent({ source: 'serial', outcome: charging() }));
      fire().onUpdate(paidFixture());
      vi.advanceTimersByTime(60_000);
      expect(s.active?.state).toBe('paid');
      s.onKeydown(key('7') as unknown as KeyboardEvent);
      expect(s.active).toBeNull();
      expect(s.amount).toBe('7');
    } finally {
      vi.useRealTimers();
    }
  });

  it('a failure screen is not closed by a digit (the clerk reads why)', async () => {
    const s = await ready();
    fire().onScan(scanEvent({ source: 'serial', outcome: charging() }));
    fire().onUpdate(paymentFixture({ state: 'failed', phase: 'done', final: true, message: '余额不足' }));
    s.onKeydown(key('7') as unknown as KeyboardEvent);
    expect(s.active?.state).toBe('failed');
  });
});

describe('arming and disarming', () => {
  it('arms the core with the channel and the amount as typed once the amount is checked', async () => {
    const s = await scanning();
    expect(api.checkAmount).toHaveBeenCalledWith('12.34');
    expect(api.armScan).toHaveBeenCalledWith('abc', '12.34');
    expect(api.checkAmount.mock.invocationCallOrder[0]).toBeLessThan(api.armScan.mock.invocationCallOrder[0]);
    expect(s.scan?.amountText).toBe('12.34');
    expect(s.busy).toBeNull();
  });

  it('does not arm for an amount the core refuses', async () => {
    const s = await ready();
    s.amount = '0';
    api.checkAmount.mockRejectedValueOnce({ code: 'amount', message: '金额必须大于 0' });
    await s.openScan();
    expect(api.armScan).not.toHaveBeenCalled();
    expect(s.scan).toBeNull();
    expect(s.amountError).toBe('金额必须大于 0');
  });

  it('does not open the overlay when arming is refused, and shows why', async () => {
    const s = await ready();
    s.amount = '12.34';
    api.armScan.mockRejectedValueOnce({ code: 'channel', message: '收款渠道 abc 不支持扫付款码' });
    await s.openScan();
    expect(s.scan).toBeNull();
    expect(s.amountError).toBe('收款渠道 abc 不支持扫付款码');
    expect(s.busy).toBeNull();
  });

  it('does not open the overlay when a serial scan paid while arming', async () => {
    const s = await ready();
    s.amount = '12.34';
    api.armScan.mockImplementationOnce(async () => {
      fire().onScan(scanEvent({ source: 'serial', outcome: charging() }));
      return null;
    });
    await s.openScan();
    expect(s.scan).toBeNull();
    expect(s.active?.id).toBe('T0012511221403250001');
  });

  it('disarms when the overlay closes without a payment (Back or Esc)', async () => {
    const s = await scanning();
    s.closeScan();
    expect(s.scan).toBeNull();
    await settle(); // in turn with the keypad's arming
    expect(api.disarmScan).toHaveBeenCalledTimes(1);

    await s.openScan();
    const esc = key('Escape');
    s.capture.handleKey(esc as unknown as KeyboardEvent);
    s.onKeydown(esc as unknown as KeyboardEvent);
    expect(s.scan).toBeNull();
    await settle();
    expect(api.disarmScan).toHaveBeenCalledTimes(2);
    expect(api.armScan).toHaveBeenCalledTimes(2);
  });

  it('does not disarm when a scan started the payment (the core did), nor close while sending', async () => {
    const s = await scanning();
    let answer!: (e: ScanEvent) => void;
    api.submitScan.mockReturnValueOnce(new Promise<ScanEvent>((r) => (answer = r)));
    s.scan!.manual = '280012345678901210';
    s.submitManual();
    expect(s.scan?.busy).toBe(true);
    s.closeScan(); // Esc while sending does nothing
    expect(s.scan).not.toBeNull();
    answer(scanEvent({ source: 'manual', outcome: charging() }));
    await settle();
    expect(s.scan).toBeNull();
    expect(s.active?.id).toBe('T0012511221403250001');
    expect(api.disarmScan).not.toHaveBeenCalled();
  });

  it('says so when disarming fails', async () => {
    const s = await scanning();
    api.disarmScan.mockRejectedValueOnce({ code: 'io', message: '无法停止扫码' });
    s.closeScan();
    await settle();
    expect(s.notice).toBe('无法停止扫码');
  });
});

describe("the UI's own scans", () => {
  it('sends a wedge scan in the overlay as source wedge and shows the payment it started', async () => {
    const s = await scanning();
    api.submitScan.mockResolvedValueOnce(scanEvent({ source: 'wedge', outcome: charging() }));
    wedgeScan(s, '280012345678901210');
    expect(api.submitScan).toHaveBeenCalledWith('280012345678901210', 'wedge');
    await settle();
    expect(s.scan).toBeNull();
    expect(s.active?.id).toBe('T0012511221403250001');
    expect(s.active?.codeMasked).toBe('2800**********10');
    expect(mocks.playSound).not.toHaveBeenCalledWith('read');
  });

  it('sends a typed code (Enter) and a demo code as source manual', async () => {
    const s = await scanning();
    api.submitScan.mockResolvedValue(scanEvent({ source: 'manual', outcome: rejected, message: '不是付款码' }));
    for (const [i, c] of [...'134567'].entries()) s.capture.handleKey(key(c, i * 300) as unknown as KeyboardEvent);
    s.capture.handleKey(key('Enter', 2000) as unknown as KeyboardEvent);
    expect(api.submitScan).toHaveBeenLastCalledWith('134567', 'manual');
    await settle();
    await s.submitCode('280000000000000001', 'manual');
    expect(api.submitScan).toHaveBeenLastCalledWith('280000000000000001', 'manual');
  });

  it('rejected: the error shows in the overlay, which stays open and armed; the code is cleared', async () => {
    const s = await scanning();
    s.manualInput('123456');
    api.submitScan.mockResolvedValueOnce(scanEvent({ source: 'manual', outcome: rejected, message: '这不是付款码' }));
    await s.submitCode('123456', 'manual');
    expect(s.scan).not.toBeNull();
    expect(s.scan?.error).toBe('这不是付款码');
    expect(s.scan?.busy).toBe(false);
    expect(s.scan?.manual).toBe('');
    expect(s.active).toBeNull();
    expect(api.disarmScan).not.toHaveBeenCalled();
    expect(mocks.playSound).not.toHaveBeenCalled();
  });

  it('not_waiting: the core’s message as a notice; duplicate: nothing at all', async () => {
    const s = await scanning();
    api.submitScan.mockResolvedValueOnce(
      scanEvent({ source: 'wedge', outcome: { kind: 'not_waiting' }, message: '扫到支付宝付款码，但没有等待收款的订单' }),
    );
    await s.submitCode('280012345678901210', 'wedge');
    expect(s.notice).toBe('扫到支付宝付款码，但没有等待收款的订单');
    expect(s.scan?.busy).toBe(false);

    s.dismissNotice();
    s.scan!.error = '上一次的错误';
    api.submitScan.mockResolvedValueOnce(scanEvent({ source: 'wedge', outcome: { kind: 'duplicate' }, message: '重复扫码，已忽略' }));
    await s.submitCode('280012345678901210', 'wedge');
    expect(s.notice).toBeNull();
    expect(s.scan?.busy).toBe(false);
    expect(s.active).toBeNull();
  });

  it('a failed submit shows the reason in the overlay', async () => {
    const s = await scanning();
    api.submitScan.mockRejectedValueOnce(new Error('ipc gone'));
    await s.submitCode('280012345678901210', 'manual');
    expect(s.scan?.error).toBe('与收银核心的连接中断，这一步没有完成。请再试一次；如果仍然失败，请重启 paydesk。');
    expect(s.scan?.busy).toBe(false);
  });

  it('passive: a wedge scan outside the overlay goes to the core with the keypad amount; its message is the notice', async () => {
    const s = await ready();
    s.amount = '12';
    api.submitScan.mockResolvedValueOnce(
      scanEvent({ source: 'wedge', outcome: { kind: 'not_waiting' }, message: '扫到微信付款码，但没有等待收款的订单' }),
    );
    wedgeScan(s, '130012345678901210');
    expect(s.amount).toBe('12'); // what the scanner typed is undone
    // it pays what the keypad shows once the scanner's own keys are undone, whatever was armed
    expect(api.submitScan).toHaveBeenCalledWith('130012345678901210', 'wedge', {
      channel: s.channel!.id,
      amountText: '12',
      charge: null,
    });
    await settle();
    expect(s.notice).toBe('扫到微信付款码，但没有等待收款的订单');
    expect(s.scan).toBeNull();
    expect(s.active).toBeNull();
  });

  it('ignores a late not_waiting when a serial scan paid meanwhile', async () => {
    const s = await scanning();
    let answer!: (e: ScanEvent) => void;
    api.submitScan.mockReturnValueOnce(new Promise<ScanEvent>((r) => (answer = r)));
    const pending = s.submitCode('280012345678901210', 'wedge');
    fire().onScan(scanEvent({ source: 'serial', outcome: charging() }));
    answer(scanEvent({ source: 'wedge', outcome: { kind: 'not_waiting' }, message: '没有等待收款的订单' }));
    await pending;
    expect(s.notice).toBeNull();
    expect(s.active?.id).toBe('T0012511221403250001');
  });
});

describe('scan events from the core', () => {
  it('ignores events of the UI’s own sources (it had them as the command’s answer)', async () => {
    const s = await scanning();
    fire().onScan(scanEvent({ source: 'wedge', outcome: charging() }));
    fire().onScan(scanEvent({ source: 'manual', outcome: rejected, message: '不是付款码' }));
    fire().onScan(scanEvent({ source: 'wedge', outcome: { kind: 'not_waiting' }, message: '没有等待' }));
    expect(s.scan).not.toBeNull();
    expect(s.scan?.error).toBeNull();
    expect(s.active).toBeNull();
    expect(s.notice).toBeNull();
    expect(mocks.playSound).not.toHaveBeenCalled();
  });

  it('serial charging: closes the overlay, shows the payment and beeps', async () => {
    const s = await scanning();
    fire().onScan(scanEvent({ source: 'serial', outcome: charging() }));
    expect(s.scan).toBeNull();
    expect(s.active?.id).toBe('T0012511221403250001');
    expect(mocks.playSound).toHaveBeenCalledWith('read');
    expect(api.disarmScan).not.toHaveBeenCalled();
  });

  it('camera rejected: the overlay shows the error, keeps what the clerk typed, and beeps', async () => {
    const s = await scanning();
    s.manualInput('2800');
    fire().onScan(scanEvent({ source: 'camera', codeShown: '6901234567892', outcome: rejected, message: '这是商品条码，不是付款码' }));
    expect(s.scan?.error).toBe('这是商品条码，不是付款码');
    expect(s.scan?.manual).toBe('2800');
    expect(mocks.playSound).toHaveBeenCalledWith('read');
  });

  it('the camera’s beep setting silences camera reads only', async () => {
    const s = await scanning(boot({ scanners: scanners({ camera: { ...scanners().camera, enabled: true, beep: false } }) }));
    fire().onScan(scanEvent({ source: 'camera', outcome: rejected, message: '不能付款' }));
    expect(s.scan?.error).toBe('不能付款');
    expect(mocks.playSound).not.toHaveBeenCalled();
    fire().onScan(scanEvent({ source: 'serial', outcome: rejected, message: '不能付款' }));
    expect(mocks.playSound).toHaveBeenCalledWith('read');
  });

  it('serial not_waiting: a notice, no beep; duplicate: nothing', async () => {
    const s = await ready();
    fire().onScan(scanEvent({ source: 'serial', outcome: { kind: 'not_waiting' }, message: '扫到商品条码 6901234567892（不是付款码）' }));
    expect(s.notice).toBe('扫到商品条码 6901234567892（不是付款码）');
    s.dismissNotice();
    fire().onScan(scanEvent({ source: 'camera', outcome: { kind: 'duplicate' }, message: '重复扫码，已忽略' }));
    expect(s.notice).toBeNull();
    expect(mocks.playSound).not.toHaveBeenCalled();
  });

  it('a rejected read with no overlay open is a notice', async () => {
    const s = await ready();
    fire().onScan(scanEvent({ source: 'serial', outcome: rejected, message: '不接受数字人民币' }));
    expect(s.notice).toBe('不接受数字人民币');
  });

  it('keeps camera frames only while the overlay is open and the camera runs', async () => {
    const s = await ready(boot({ scanners: scanners({ camera: { ...scanners().camera, enabled: true } }) }));
    const frame = { dataUrl: 'data:image/jpeg;base64,AAAA', frameWidth: 1280, frameHeight: 720 };
    fire().onCameraPreview(frame);
    expect(s.preview).toBeNull();
    s.amount = '1';
    await s.openScan();
    fire().onScannerState({ serial: { state: 'off' }, camera: { state: 'running', source: 'USB Camera' } });
    fire().onCameraPreview(frame);
    expect(s.preview?.dataUrl).toBe(frame.dataUrl);
    fire().onScannerState({ serial: { state: 'off' }, camera: { state: 'failed', reason: 'unplugged' } });
    expect(s.preview).toBeNull();
    fire().onCameraPreview(frame);
    s.closeScan();
    expect(s.preview).toBeNull();
  });
});

describe('kiosk mode: the clerk window reads no scans (the kiosk reads its own)', () => {
  const kiosk: KioskInfo = {
    welcome: '欢迎光临',
    logoDataUrl: null,
    idleResetSeconds: 60,
    paidResetSeconds: 6,
    tenders: ['qr', 'code'],
    channel: 'abc',
    method: null,
    products: [],
  };
  const notWaiting = '扫到付款码，但没有等待收款的订单：请先输入金额';

  it('serial and camera scan events: no clerk notice, no payment overlay, no beep of the clerk window', async () => {
    const s = await ready(boot({ kiosk, scanners: scanners({ camera: { ...scanners().camera, enabled: true } }) }));
    expect(s.readsScans).toBe(false);
    fire().onScan(scanEvent({ source: 'serial', outcome: { kind: 'not_waiting' }, message: notWaiting }));
    fire().onScan(scanEvent({ source: 'camera', outcome: rejected, message: '不是付款码' }));
    fire().onScan(scanEvent({ source: 'serial', outcome: charging() }));
    expect(s.notice).toBeNull();
    expect(s.active).toBeNull();
    expect(s.scan).toBeNull();
    expect(mocks.playSound).not.toHaveBeenCalled();
  });

  it('the clerk wedge leaves every key alone and asks the core nothing', async () => {
    const s = await ready(boot({ kiosk }));
    expect(s.capture.enabled).toBe(true); // the setting is kept for after kiosk mode; the rule is readsScans
    const keys = [...'280012345678901210'].map((c, i) => key(c, 10_000 + i * 5));
    keys.push(key('Enter', 10_100));
    for (const k of keys) s.capture.handleKey(k as unknown as KeyboardEvent);
    expect(keys.some((k) => k.defaultPrevented)).toBe(false); // the kiosk's own capture takes them
    await s.passiveScan('280012345678901210');
    await settle();
    expect(api.submitScan).not.toHaveBeenCalled();
    expect(s.notice).toBeNull();
    expect(s.active).toBeNull();
  });

  it('after leaving kiosk mode the clerk window reads scans again', async () => {
    const s = await ready(boot({ kiosk }));
    s.applyBootstrap(boot());
    expect(s.readsScans).toBe(true);
    api.submitScan.mockResolvedValueOnce(scanEvent({ source: 'wedge', outcome: { kind: 'not_waiting' }, message: notWaiting }));
    wedgeScan(s, '280012345678901210');
    expect(api.submitScan).toHaveBeenCalledWith('280012345678901210', 'wedge');
    await settle();
    expect(s.notice).toBe(notWaiting);
    fire().onScan(scanEvent({ source: 'serial', outcome: charging() }));
    expect(s.active?.id).toBe('T0012511221403250001');
  });
});

describe('wedge thresholds', () => {
  it('come from bootstrap', async () => {
    const s = await ready(boot({ scanners: scanners({ wedge: { enabled: true, min_length: 12, max_gap_ms: 30 } }) }));
    expect(s.capture.detector.options).toMatchObject({ minLength: 12, maxGapMs: 30, maxEnterGapMs: 30 });
    expect(s.capture.enabled).toBe(true);
  });

  it('wedge off: no passive scans, but typing in the overlay still submits as manual', async () => {
    const s = await ready(boot({ scanners: scanners({ wedge: { enabled: false, min_length: 8, max_gap_ms: 50 } }) }));
    expect(s.capture.enabled).toBe(false);
    const keys = [...'280012345678901210'].map((c, i) => key(c, 10_000 + i * 5));
    keys.push(key('Enter', 10_100));
    for (const k of keys) s.capture.handleKey(k as unknown as KeyboardEvent);
    expect(keys.some((k) => k.defaultPrevented)).toBe(false); // the keys go on as typing
    expect(api.submitScan).not.toHaveBeenCalled();

    s.amount = '12.34';
    await s.openScan();
    api.submitScan.mockResolvedValueOnce(scanEvent({ source: 'manual', outcome: charging() }));
    wedgeScan(s, '280012345678901210', 50_000);
    expect(api.submitScan).toHaveBeenCalledWith('280012345678901210', 'manual');
  });
});

describe('scanner settings', () => {
  it('F9 opens the settings with what the core read; Esc closes without saving', async () => {
    const s = await ready();
    api.scannerSettings.mockResolvedValueOnce(view(scanners({ dedupe_window_ms: 1500 })));
    s.onKeydown(key('F9') as unknown as KeyboardEvent);
    expect(s.settings?.busy).toBe('load');
    await settle();
    expect(s.settings?.busy).toBeNull();
    expect(s.settings?.form?.dedupeWindowMs).toBe('1500');
    expect(s.settings?.ports).toEqual([{ name: '/dev/ttyUSB0', description: 'CH340' }]);
    s.onKeydown(key('Escape') as unknown as KeyboardEvent);
    expect(s.settings).toBeNull();
    expect(api.saveScannerSettings).not.toHaveBeenCalled();
  });

  it('does not open over the scan overlay; nothing else starts while it is open', async () => {
    const s = await scanning();
    await s.openSettings();
    expect(s.settings).toBeNull();
    s.closeScan();

    api.scannerSettings.mockResolvedValueOnce(view(scanners()));
    await s.openSettings();
    s.amount = '12.34';
    for (const k of ['Enter', 'F1', 'F2', 'F3', '5']) s.onKeydown(key(k) as unknown as KeyboardEvent);
    await settle();
    expect(s.amount).toBe('12.34');
    expect(api.armScan).toHaveBeenCalledTimes(1); // the first overlay only
    expect(api.startQr).not.toHaveBeenCalled();
    expect(s.scan).toBeNull();
  });

  it('a wedge scan while the settings are open goes nowhere but the notice', async () => {
    const s = await ready();
    api.scannerSettings.mockResolvedValueOnce(view(scanners()));
    await s.openSettings();
    const field = { value: '2000' };
    s.capture['h'].focusedField = () => field;
    const keys = [...'280012345678901210'].map((c, i) => key(c, 10_000 + i * 5));
    for (const k of keys) {
      s.capture.handleKey(k as unknown as KeyboardEvent);
      field.value += k.key; // the focused input took the key
    }
    s.capture.handleKey(key('Enter', 10_100) as unknown as KeyboardEvent);
    await settle();
    expect(field.value).toBe('2000');
    expect(api.submitScan).not.toHaveBeenCalled();
    expect(s.notice).toBe('键盘扫码枪读到 18 个字符：2800 •••• •••• •••• ••（设置窗口打开时不使用）');
    expect(s.settings).not.toBeNull();
  });

  it('saves exactly the Scanners shape and applies the wedge thresholds at once', async () => {
    const s = await ready();
    api.scannerSettings.mockResolvedValueOnce(view(scanners()));
    await s.openSettings();
    const f = s.settings!.form!;
    f.serial.enabled = true;
    f.serial.portChoice = '/dev/ttyUSB0';
    f.serial.baudChoice = '115200';
    f.wedge.minLength = '10';
    f.wedge.maxGapMs = '35';
    f.camera.enabled = true;
    f.camera.deviceChoice = '0';
    f.dedupeWindowMs = ' 3000 ';
    const sent = scanners({
      dedupe_window_ms: 3000,
      serial: { ...scanners().serial, enabled: true, port: '/dev/ttyUSB0', baud: 115200 },
      wedge: { enabled: true, min_length: 10, max_gap_ms: 35 },
      camera: { ...scanners().camera, enabled: true, device: '0' },
    });
    api.saveScannerSettings.mockResolvedValueOnce(
      view(sent, { serial: { state: 'connecting', port: '/dev/ttyUSB0' }, camera: { state: 'off' } }),
    );
    const saving = s.saveSettings();
    expect(api.saveScannerSettings).not.toHaveBeenCalled(); // a manager approves first
    await approve(s);
    await saving;
    expect(api.saveScannerSettings).toHaveBeenCalledTimes(1);
    expect(api.saveScannerSettings.mock.calls[0][0]).toEqual({ userId: 1, pin: '1234' });
    const arg = api.saveScannerSettings.mock.calls[0][1] as Scanners;
    expect(arg).toStrictEqual(sent);
    expect(JSON.parse(JSON.stringify(arg))).toEqual(sent);
    expect(s.settings).toBeNull();
    expect(s.scanners).toEqual(sent);
    expect(s.capture.detector.options).toMatchObject({ minLength: 10, maxGapMs: 35 });
    expect(s.scannerState?.serial).toEqual({ state: 'connecting', port: '/dev/ttyUSB0' });
    expect(s.scannerPill?.level).toBe('pending');
  });

  it('keeps the form and shows the core’s message when it refuses', async () => {
    const s = await ready();
    api.scannerSettings.mockResolvedValueOnce(view(scanners()));
    await s.openSettings();
    s.settings!.form!.wedge.minLength = '2';
    api.saveScannerSettings.mockRejectedValueOnce({ code: 'config', message: 'scanners.wedge.min_length: 4–64' });
    const saving = s.saveSettings();
    await approve(s);
    await saving;
    expect(s.approvals.prompt).toBeNull();
    expect(s.settings?.error).toBe('scanners.wedge.min_length: 4–64');
    expect(s.settings?.form?.wedge.minLength).toBe('2');
    expect(s.settings?.busy).toBeNull();
    expect(s.capture.detector.options.minLength).toBe(8);
  });

  it('a wrong PIN keeps the prompt open; cancelling keeps the form unsaved', async () => {
    const s = await ready();
    api.scannerSettings.mockResolvedValueOnce(view(scanners()));
    await s.openSettings();
    s.settings!.form!.wedge.minLength = '10';
    api.saveScannerSettings.mockRejectedValueOnce({ code: 'wrong_pin', message: 'PIN 不对，还可以试 4 次' });
    const saving = s.saveSettings();
    await approve(s);
    expect(s.approvals.prompt?.error).toBe('PIN 不对，还可以试 4 次');
    expect(s.approvals.prompt?.pin).toBe('');
    expect(s.settings?.busy).toBe('save');
    s.onKeydown(key('Escape') as unknown as KeyboardEvent); // cancels the prompt, not the settings
    await saving;
    expect(s.approvals.prompt).toBeNull();
    expect(s.settings?.busy).toBeNull();
    expect(s.settings?.error).toBeNull();
    expect(s.settings?.form?.wedge.minLength).toBe('10');
    expect(s.capture.detector.options.minLength).toBe(8);
    expect(api.saveScannerSettings).toHaveBeenCalledTimes(1);
  });

  it('sends nothing while a field is not a whole number', async () => {
    const s = await ready();
    api.scannerSettings.mockResolvedValueOnce(view(scanners()));
    await s.openSettings();
    s.settings!.form!.wedge.maxGapMs = '4.5';
    await s.saveSettings();
    expect(api.saveScannerSettings).not.toHaveBeenCalled();
    expect(s.settings?.invalid).toBe('wedgeMaxGapMs');
    expect(s.settings?.error).toBe('“按键最大间隔（毫秒）”必须是整数');
  });

  it('refresh updates the ports and cameras and keeps what was typed', async () => {
    const s = await ready();
    api.scannerSettings.mockResolvedValueOnce(view(scanners(), { ports: [] }));
    await s.openSettings();
    s.settings!.form!.dedupeWindowMs = '800';
    api.scannerSettings.mockResolvedValueOnce(
      view(scanners(), { ports: [{ name: '/dev/ttyACM0', description: 'Scanner' }], serial: { state: 'off' } }),
    );
    await s.refreshSettings();
    expect(s.settings?.ports).toEqual([{ name: '/dev/ttyACM0', description: 'Scanner' }]);
    expect(s.settings?.form?.dedupeWindowMs).toBe('800');
  });

  it('falls back on bootstrap’s settings when they cannot be read', async () => {
    const s = await ready();
    api.scannerSettings.mockRejectedValueOnce({ code: 'io', message: '读取失败' });
    await s.openSettings();
    expect(s.settings?.error).toBe('读取失败');
    expect(s.settings?.form?.wedge.minLength).toBe('8');
  });
});

describe('rendering', () => {
  async function readyApp(b: Bootstrap) {
    app.active = null;
    app.scan = null;
    app.busy = null;
    app.settings = null;
    app.preview = null;
    await ready(b, app);
  }

  it('shows the live camera view with its framing box and the serial status in the overlay', async () => {
    await readyApp(
      boot({
        scanners: scanners({
          serial: { ...scanners().serial, enabled: true, port: '/dev/ttyUSB0' },
          camera: { ...scanners().camera, enabled: true },
        }),
        scannerState: { serial: { state: 'connected', port: '/dev/ttyUSB0' }, camera: { state: 'starting' } },
      }),
    );
    app.amount = '12.34';
    await app.openScan();
    let html = render(ScanOverlay).body;
    expect(html).not.toContain('data-testid="camera-preview"');
    expect(html).toContain('data-testid="camera-state"');
    expect(html).toContain('正在打开摄像头');
    expect(html).toMatch(/data-testid="serial-status"[^>]*data-state="connected"/);
    expect(html).toContain('串口扫码枪已连接（/dev/ttyUSB0）');

    fire().onScannerState({ serial: { state: 'disconnected', port: '/dev/ttyUSB0', reason: '设备已拔出', retry_in_ms: 1600 }, camera: { state: 'running', source: 'USB Camera' } });
    fire().onCameraPreview({ dataUrl: 'data:image/jpeg;base64,AAAA', frameWidth: 1280, frameHeight: 720 });
    html = render(ScanOverlay).body;
    expect(html).toMatch(/<img[^>]*data-testid="camera-preview"[^>]*src="data:image\/jpeg;base64,AAAA"/);
    expect(html).toContain('class="frame');
    expect(html).not.toContain('data-testid="camera-state"');
    expect(html).toMatch(/data-testid="serial-status"[^>]*data-state="disconnected"/);
    expect(html).toContain('设备已拔出');

    fire().onScannerState({ serial: { state: 'connected', port: '/dev/ttyUSB0' }, camera: { state: 'failed', reason: 'no camera' } });
    html = render(ScanOverlay).body;
    expect(html).toContain('摄像头未连接：no camera');
    app.closeScan();
  });

  it('shows neither camera nor serial status when both are off', async () => {
    await readyApp(boot());
    app.amount = '12.34';
    await app.openScan();
    const html = render(ScanOverlay).body;
    expect(html).not.toContain('camera-box');
    expect(html).not.toContain('serial-status');
    expect(html).toContain('data-testid="manual-code-input"');
    app.closeScan();
  });

  it('shows the header pill only with serial or camera enabled, coloured by state', async () => {
    await readyApp(boot());
    let html = render(Header).body;
    expect(html).not.toContain('data-testid="scanner-status"');
    expect(html).toContain('data-testid="open-settings"');

    await readyApp(
      boot({
        scanners: scanners({ camera: { ...scanners().camera, enabled: true } }),
        scannerState: { serial: { state: 'off' }, camera: { state: 'failed', reason: 'no camera' } },
      }),
    );
    html = render(Header).body;
    expect(html).toMatch(/data-testid="scanner-status"[^>]*data-level="bad"/);
    expect(html).toMatch(/data-testid="scanner-status"[^>]*title="摄像头未连接：no camera"/);
    fire().onScannerState({ serial: { state: 'off' }, camera: { state: 'running', source: 'cam' } });
    expect(render(Header).body).toMatch(/data-testid="scanner-status"[^>]*data-level="ok"/);
  });

  it('renders the settings form with its test ids and the core’s error', async () => {
    await readyApp(boot());
    api.scannerSettings.mockResolvedValueOnce(
      view(scanners({ serial: { ...scanners().serial, port: '/dev/serial/by-id/usb-X' } }), {
        serial: { state: 'disconnected', port: '/dev/serial/by-id/usb-X', reason: 'No such file', retry_in_ms: 5000 },
      }),
    );
    await app.openSettings();
    app.settings!.error = 'scanners.serial.baud: 50–4000000';
    const html = render(SettingsModal).body;
    for (const id of [
      'settings',
      'settings-serial-enabled',
      'settings-serial-port',
      'settings-serial-port-custom',
      'settings-refresh',
      'settings-serial-baud',
      'settings-serial-terminator',
      'settings-wedge-enabled',
      'settings-wedge-min-length',
      'settings-wedge-max-gap',
      'settings-camera-enabled',
      'settings-camera-device',
      'settings-dedupe-window',
      'settings-save',
      'settings-cancel',
      'settings-error',
    ]) {
      expect(html, id).toContain(`data-testid="${id}"`);
    }
    expect(html).toContain('/dev/ttyUSB0 — CH340');
    expect(html).toContain('No such file');
    expect(html).toContain('scanners.serial.baud: 50–4000000');
    expect(html).toContain('1280×720');
    app.closeSettings();
  });
});

describe('Esc and Cancel', () => {
  /** The shared `app` (the overlay reads it), booted afresh; it subscribed in an earlier test, so
   * these tests call what the events call (`handleScanEvent`, `applyUpdate`) directly. Last in
   * the file: the tests above need the shared app's first subscription. */
  async function freshApp(): Promise<AppState> {
    app.active = null;
    app.scan = null;
    app.busy = null;
    app.cancelArmedUntil = null;
    return ready(boot(), app);
  }
  afterEach(() => {
    app.active = null;
    app.cancelArmedUntil = null;
  });

  it('one Esc on a waiting payment only asks; a second within a few seconds cancels', async () => {
    const s = await freshApp();
    s.handleScanEvent(scanEvent({ source: 'serial', outcome: charging({ phase: 'waiting' }) }));
    api.cancelPayment.mockResolvedValue(payment({ phase: 'cancelling' }));
    s.onKeydown(key('Escape') as unknown as KeyboardEvent);
    expect(api.cancelPayment).not.toHaveBeenCalled();
    expect(render(PaymentOverlay).body).toContain('再按一次取消收款');
    s.onKeydown(key('Escape') as unknown as KeyboardEvent);
    expect(api.cancelPayment).toHaveBeenCalledTimes(1);
  });

  it('an Esc long after the first one asks again', async () => {
    const s = await freshApp();
    s.handleScanEvent(scanEvent({ source: 'serial', outcome: charging({ phase: 'waiting' }) }));
    s.onKeydown(key('Escape') as unknown as KeyboardEvent);
    s.cancelArmedUntil = Date.now() - 1; // the few seconds passed
    s.onKeydown(key('Escape') as unknown as KeyboardEvent);
    expect(api.cancelPayment).not.toHaveBeenCalled();
  });

  it('a payment the clerk cancelled ends on a neutral "cancelled, nothing collected", not a red failure', async () => {
    const s = await freshApp();
    s.handleScanEvent(scanEvent({ source: 'serial', outcome: charging({ flow: 'qr', phase: 'waiting' }) }));
    api.cancelPayment.mockResolvedValue(payment({ flow: 'qr', phase: 'cancelling' }));
    s.requestCancel();
    s.requestCancel();
    await settle();
    s.applyUpdate(
      payment({ flow: 'qr', state: 'closed', status: 'closed', phase: 'done', final: true, message: '订单已关闭，未扣款。' }),
    );
    const html = render(PaymentOverlay).body;
    expect(html).toContain('result-cancelled');
    expect(html).toContain('已取消，未收款');
    expect(html).not.toContain('result-failure');
  });

  it('a payment that failed by itself is still a failure', async () => {
    const s = await freshApp();
    s.handleScanEvent(scanEvent({ source: 'serial', outcome: charging({ id: 'T2' }) }));
    s.applyUpdate(payment({ id: 'T2', state: 'failed', status: 'failed', phase: 'done', final: true, message: '余额不足' }));
    expect(render(PaymentOverlay).body).toContain('result-failure');
  });
});

describe("the ledger's start-up check", () => {
  it('says the ledger is being checked, then takes payments once it passed', async () => {
    const s = await ready(boot({ ledgerCheck: { state: 'checking', message: null } }));
    expect(s.ledgerCheck).toBe('checking');
    fire().onLedgerCheck({ state: 'intact', message: null });
    expect(s.ledgerCheck).toBe('intact');
    expect(s.status).toBe('ready');
  });

  it('the counter shows it while checking (the shared app, as the screen reads it)', async () => {
    await ready(boot(), app);
    app.ledgerCheck = 'checking';
    expect(render(AmountEntry).body).toContain('data-testid="ledger-checking"');
    app.ledgerCheck = 'intact';
    expect(render(AmountEntry).body).not.toContain('data-testid="ledger-checking"');
  });

  it('a ledger that fails it leaves only the reason on screen', async () => {
    const s = await ready(boot({ ledgerCheck: { state: 'checking', message: null } }));
    fire().onLedgerCheck({ state: 'damaged', message: '账本文件已损坏（…），请联系技术支持，切勿删除该文件。' });
    expect(s.status).toBe('unreachable');
    expect(s.fatalDetail).toContain('账本文件已损坏');
  });
});
