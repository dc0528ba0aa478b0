// Test-only fixtures shared by the unit tests: the core's default `[scanners]` settings, a
// bootstrap, channels, payments, people and what the manager screens read; the browser stubbed for
// the tests that run the AppState.
import { vi } from 'vitest';
import type {
  AuditEntry,
  Bootstrap,
  Channel,
  EventView,
  PaymentDetail,
  PaymentView,
  PeopleInfo,
  RefundView,
  Scanners,
  Session,
  Today,
  UserInfo,
} from './api';
import type { ChargeView } from './charges';

export function scannersFixture(p: Partial<Scanners> = {}): Scanners {
  return {
    dedupe_window_ms: 2000,
    serial: {
      enabled: false,
      port: '',
      baud: 9600,
      data_bits: 8,
      parity: 'none',
      stop_bits: 1,
      terminator: 'cr',
      stale_after_ms: 500,
    },
    wedge: { enabled: true, min_length: 8, max_gap_ms: 50 },
    camera: { enabled: false, device: '', width: 1280, height: 720, fps: 30, beep: true },
    ...p,
  };
}

export const abcChannel: Channel = {
  id: 'abc',
  name: '农行支付宝',
  barcode: true,
  qr: true,
  canCancel: true,
  methods: [],
  display: 'qr',
};

/** A channel with three QR methods to pick from (支付宝 → 微信 → 银联). */
export const lakalaChannel: Channel = {
  id: 'lakala',
  name: '拉卡拉',
  barcode: true,
  qr: true,
  canCancel: true,
  methods: [
    { code: 'ALIPAY', name: '支付宝' },
    { code: 'WECHAT', name: '微信支付' },
    { code: 'UQRCODEPAY', name: '银联二维码' },
  ],
  display: 'qr',
};

/** A channel whose payment opens a page in the customer's window (no QR on the clerk's screen). */
export const paysvcChannel: Channel = {
  id: 'paysvc',
  name: '支付宝网页支付',
  barcode: false,
  qr: true,
  canCancel: false,
  methods: [],
  display: 'customer_window',
};

export const managerUser: UserInfo = { id: 1, name: '王店长', role: 'manager', locked: false };
export const clerkUser: UserInfo = { id: 2, name: '李收银', role: 'clerk', locked: false };
export const secondManager: UserInfo = { id: 3, name: '赵经理', role: 'manager', locked: false };

export function sessionFixture(user: UserInfo = clerkUser, p: Partial<Session> = {}): Session {
  return { userId: user.id, name: user.name, role: user.role, sinceMs: 1_763_791_405_000, ...p };
}

/** `Bootstrap.people`; by default signing in is not required and there are no users (as before issue 5). */
export function peopleFixture(p: Partial<PeopleInfo> = {}): PeopleInfo {
  return { signInRequired: false, firstRun: false, idleLockMs: 300_000, users: [], session: null, ...p };
}

/** Signing in required, a manager and a clerk, no one signed in. */
export function signInPeople(p: Partial<PeopleInfo> = {}): PeopleInfo {
  return peopleFixture({ signInRequired: true, users: [managerUser, clerkUser], ...p });
}

export function bootFixture(p: Partial<Bootstrap> = {}): Bootstrap {
  return {
    lang: 'zh',
    terminal: { code: 'T001', name: '一号收银台' },
    channels: [abcChannel],
    defaultChannel: 'abc',
    ceilingText: '50000.00',
    demo: null,
    active: null,
    alerts: [],
    scanners: scannersFixture(),
    scannerState: { serial: { state: 'off' }, camera: { state: 'off' } },
    people: peopleFixture(),
    kiosk: null,
    charge: null,
    display: { enabled: false },
    ...p,
  };
}

/** A barcode payment on its way (pending, sending). */
export function paymentFixture(p: Partial<PaymentView> = {}): PaymentView {
  const v: PaymentView = {
    id: 'T0012511221403250001',
    channel: 'abc',
    flow: 'barcode',
    amountFen: 1234,
    amountText: '12.34',
    state: 'pending',
    status: 'pending',
    statusText: '等待付款',
    refundedText: '0.00',
    phase: 'sending',
    phaseText: '正在发送',
    final: false,
    late: false,
    wallet: 'alipay',
    codeMasked: '2800**********10',
    qrSvg: null,
    qrPayload: null,
    display: 'qr',
    deadlineAtMs: null,
    message: '正在发送',
    customerMessage: '',
    failureCode: null,
    createdAtMs: Date.now(),
    timeText: '14:03:25',
    ...p,
  };
  // the customer's words follow the clerk's unless a test sets them
  return { ...v, customerMessage: p.customerMessage ?? v.message };
}

/** The same payment, paid. */
export function paidFixture(p: Partial<PaymentView> = {}): PaymentView {
  return paymentFixture({
    state: 'paid',
    status: 'paid',
    statusText: '已支付',
    phase: 'done',
    phaseText: '已结束',
    final: true,
    message: '支付成功',
    ...p,
  });
}

export function todayFixture(p: Partial<Today> = {}): Today {
  return {
    payments: [],
    attention: [],
    totals: { count: 0, paidCount: 0, paidText: '0.00', refundedText: '0.00', netText: '0.00' },
    ...p,
  };
}

export function refundFixture(p: Partial<RefundView> = {}): RefundView {
  return {
    id: 'R0012511221410000001',
    paymentId: 'T0012511221403250001',
    amountFen: 234,
    amountText: '2.34',
    reason: '顾客退货',
    state: 'succeeded',
    stateText: '退款成功',
    approvedBy: '王店长',
    failureMessage: null,
    createdAtMs: 1_763_791_800_000,
    timeText: '14:10:00',
    canResolve: false,
    ...p,
  };
}

export function eventFixture(p: Partial<EventView> = {}): EventView {
  return { seq: 1, atMs: 1_763_791_405_000, timeText: '14:03:25', kind: 'created', text: '创建订单 ¥12.34', ...p };
}

/** A paid payment with nothing refunded yet. */
export function detailFixture(p: Partial<PaymentDetail> = {}): PaymentDetail {
  return {
    payment: paidFixture(),
    clerk: '李收银',
    terminal: 'T001 一号收银台',
    channelName: '农行支付宝',
    walletName: '支付宝',
    paidAtMs: 1_763_791_410_000,
    dateTimeText: '2025-11-22 14:03:25',
    events: [eventFixture(), eventFixture({ seq: 2, kind: 'paid', text: '支付成功', timeText: '14:03:30' })],
    refunds: [],
    refundableFen: 1234,
    refundableText: '12.34',
    canRefund: true,
    canForce: false,
    ...p,
  };
}

export function auditFixture(p: Partial<AuditEntry> = {}): AuditEntry {
  return {
    seq: 1,
    atMs: 1_763_791_405_000,
    timeText: '2025-11-22 14:03:25',
    user: '王店长',
    role: 'manager',
    action: 'refund',
    actionText: '退款',
    target: 'T0012511221403250001',
    reason: '顾客退货',
    detail: '¥2.34',
    ...p,
  };
}

/** What the app's key handlers read of a KeyboardEvent; `defaultPrevented` records preventDefault. */
export interface FakeKey {
  code: string;
  key: string;
  timeStamp: number;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  isComposing: boolean;
  defaultPrevented: boolean;
  repeat: boolean;
  target: { tagName: string } | null;
  preventDefault(): void;
  stopPropagation(): void;
}

/** A key pressed at `t` ms with the focus on `target` (null: the page). */
export function fakeKey(k: string, t = 0, target: { tagName: string } | null = null): FakeKey {
  let code = k;
  if (/^[0-9]$/.test(k)) code = `Digit${k}`;
  const ev: FakeKey = {
    code,
    key: k,
    timeStamp: t,
    ctrlKey: false,
    metaKey: false,
    altKey: false,
    isComposing: false,
    defaultPrevented: false,
    repeat: false,
    target,
    preventDefault() {
      ev.defaultPrevented = true;
    },
    stopPropagation() {},
  };
  return ev;
}

/** A scanner typing `code` fast and Enter, through the capture then (if not stopped) the app's keys. */
export function wedgeScanInto(
  s: { capture: { handleKey(e: KeyboardEvent): void }; onKeydown(e: KeyboardEvent): void },
  code: string,
  start = 10_000,
): void {
  const keys = [...[...code].map((c, i) => fakeKey(c, start + i * 5)), fakeKey('Enter', start + code.length * 5)];
  for (const k of keys) {
    s.capture.handleKey(k as unknown as KeyboardEvent);
    if (!k.defaultPrevented) s.onKeydown(k as unknown as KeyboardEvent);
  }
}

/** An open charge pushed by the ordering system (origin `api`), no preference. */
export function chargeFixture(p: Partial<ChargeView> = {}): ChargeView {
  return {
    id: 'CH0001',
    externalOrderId: 'ORD-778',
    origin: 'api',
    amountFen: 2680,
    amountText: '26.80',
    subject: '牛肉面 ×2',
    tender: null,
    channel: null,
    state: 'open',
    stateText: '待收款',
    final: false,
    paymentId: null,
    lastFailure: null,
    createdAtMs: 1_763_791_405_000,
    ...p,
  };
}

/** A kiosk order's charge (origin `kiosk`, no external order). */
export function kioskChargeFixture(p: Partial<ChargeView> = {}): ChargeView {
  return chargeFixture({ origin: 'kiosk', externalOrderId: null, amountFen: 3600, amountText: '36.00', stateText: '待支付', ...p });
}

/** A session store that keeps what is set (`data` holds it). */
export function memoryStore() {
  const data = new Map<string, string>();
  return {
    data,
    getItem: (k: string) => data.get(k) ?? null,
    setItem: (k: string, v: string) => void data.set(k, v),
  };
}

/** What the AppState touches of the browser, stubbed for the tests that run it in node: the session
 * store (by default one that keeps nothing), the document, the window's timers (those installed
 * now: fake ones when the test uses them) and the text-field classes the wedge capture checks. */
export function stubBrowser(session: Pick<Storage, 'getItem' | 'setItem'> = { getItem: () => null, setItem: () => undefined }): void {
  vi.stubGlobal('sessionStorage', session);
  vi.stubGlobal('document', { documentElement: { lang: '' }, activeElement: null });
  vi.stubGlobal('window', { setTimeout, clearTimeout, setInterval, clearInterval });
  vi.stubGlobal('HTMLInputElement', class {});
  vi.stubGlobal('HTMLTextAreaElement', class {});
}
