// Types and calls of the contract between the Rust core and the UI (docs/ui-contract.md).
// Money arrives as integer fen plus the core's `amountText`; the UI shows `amountText` only.

import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import type { PrintJobView } from './printApi';
import type { BasketItem, ChargeView, DisplayBootstrap, KioskInfo, Quote } from './charges';

export type Lang = 'zh' | 'en';

/** `lapsed`: unpaid when its page expired, on a channel that cannot close it; still watched (not final). */
export type PaymentState = 'created' | 'pending' | 'unknown' | 'lapsed' | 'paid' | 'failed' | 'closed' | 'reversed';

/** A payment's state with what was refunded of it (the core names each: `statusText`). */
export type PaymentStatus = PaymentState | 'partly_refunded' | 'refunded';
export type Phase = 'sending' | 'waiting' | 'checking' | 'cancelling' | 'not_confirmed' | 'done';

/** Where a scan came from. The UI submits `wedge` and `manual` scans itself (`submit_scan`); the
 * core reads `serial` and `camera` ones and reports them with the `scan` event. */
export type ScanSource = 'wedge' | 'manual' | 'serial' | 'camera';

/** The scans the UI itself submits. */
export type OwnScanSource = 'wedge' | 'manual';

/** How a QR payment reaches the customer: a QR code on this screen, or a page the core opens in
 * the separate customer-facing window. */
export type QrDisplay = 'qr' | 'customer_window';

/** A tender the clerk can pick for a QR payment on a channel (e.g. `WECHAT` 微信支付). */
export interface TenderMethod {
  code: string;
  name: string;
}

export interface Channel {
  id: string;
  name: string;
  barcode: boolean;
  qr: boolean;
  canCancel: boolean;
  /** Tenders for QR payments, in the core's order (the first is the default); empty when the
   * channel's own page lets the customer choose. */
  methods: TenderMethod[];
  display: QrDisplay;
}

export interface PaymentView {
  id: string;
  channel: string;
  flow: 'barcode' | 'qr';
  amountFen: number;
  amountText: string;
  state: PaymentState;
  /** the state with refunds, and its one name (the same in every screen, report, CSV and the CLI) */
  status: PaymentStatus;
  statusText: string;
  /** what succeeded refunds gave back ("0.00" when none) */
  refundedText: string;
  phase: Phase;
  phaseText: string;
  final: boolean;
  late: boolean;
  wallet: string | null;
  codeMasked: string | null;
  qrSvg: string | null;
  /** for `customer_window` payments: an internal form (JSON), never shown */
  qrPayload: string | null;
  display: QrDisplay;
  /** the wallets a QR takes (`alipay`, `wechat`, `unionpay`): the customer is told which app to open */
  wallets?: string[];
  deadlineAtMs: number | null;
  message: string;
  /** the same news for the customer (kiosk, customer display): no channel codes */
  customerMessage: string;
  failureCode: string | null;
  createdAtMs: number;
  timeText: string;
}

export interface Bootstrap {
  lang: Lang;
  terminal: { code: string; name: string };
  channels: Channel[];
  defaultChannel: string;
  ceilingText: string;
  /** the demo profile: sample codes, the sandbox, and its own users (a hint on the sign-in screen) */
  demo: null | { sampleCodes: { code: string; label: string }[]; sandboxUrl: string; users?: DemoUser[] };
  active: PaymentView | null;
  /** Late payments nobody has acknowledged yet; they come back after a restart until dismissed. */
  alerts: PaymentAlert[];
  /** the `[scanners]` settings (the wedge thresholds are applied by the UI's detector) */
  scanners: Scanners;
  scannerState: ScannerStates;
  /** who may use the till: sign-in, the idle lock, the users */
  people: PeopleInfo;
  /** kiosk mode: the window shows only the kiosk screens; null for the clerk window */
  kiosk: KioskInfo | null;
  /** the charge this till is asked to collect (at most one unfinished at a time), or null */
  charge: ChargeView | null;
  /** the customer display (a second window, label `display`) */
  display: { enabled: boolean };
  /** `[counter]`: how long "paid" stays (0: until a key); whether the window opens maximised */
  counter?: { paid_close_seconds: number; start_maximized: boolean };
  /** `[sync] chain_reports`: managers on this till see the Chain tab */
  chainReports?: boolean;
  /** the ledger's start-up integrity check: payments wait while it is `checking` */
  ledgerCheck?: LedgerCheckView;
  /** a receipt printer is set up (`[printer]`) */
  printer?: boolean;
  /** print jobs not over yet: a failed one stays listed until printed or dismissed */
  printJobs?: PrintJobView[];
}

// ---------------------------------------------------------------- people and approvals

export type Role = 'clerk' | 'manager';

export type UserChange = 'disable' | 'enable' | 'unlock' | 'reset_pin';

export interface UserInfo {
  id: number;
  name: string;
  role: Role;
  /** too many wrong PINs: the core refuses this user until a time its message names */
  locked: boolean;
  /** disabled by a manager: cannot sign in or approve (listed only on the users tab) */
  disabled?: boolean;
}

export interface Session {
  userId: number;
  name: string;
  role: Role;
  sinceMs: number;
}

/** A manager's approval of one protected action; the core checks it for each call. */
export interface Approval {
  userId: number;
  pin: string;
}

export interface PeopleInfo {
  /** at least one user exists and `[people] require_sign_in` is on */
  signInRequired: boolean;
  /** no user at all: the UI offers to create the first manager */
  firstRun: boolean;
  /** the window locks after this long without a key, click or touch */
  idleLockMs: number;
  users: UserInfo[];
  session: Session | null;
}

/** A user of the demo profile, with the PIN shown as a hint on the sign-in screen. */
export interface DemoUser {
  name: string;
  role: Role;
  pin: string;
}

/**
 * Runs a protected call with a manager's approval asked for in the PIN prompt. The prompt stays
 * open on `wrong_pin`, `locked` and `forbidden` (the manager may try again); resolves with the
 * call's result, or null when the prompt was cancelled; rejects with any other error of the call.
 * `action` names what is approved (`refund`, `force_outcome`, `resolve_refund`, `close_shift`,
 * `settings`, `add_user`, `kiosk`): the prompt's title.
 */
/** `what`: what exactly is approved, shown under the action ("¥12.34 · 订单 …3563"). */
export type WithApproval = <T>(
  action: string,
  call: (approval: Approval) => Promise<T>,
  what?: string,
) => Promise<T | null>;

// ---------------------------------------------------------------- payment detail, refunds, audit

/** An amount as the core sends it: integer fen and the yuan text it formatted. */
export interface Money {
  fen: number;
  text: string;
}

export type RefundState = 'created' | 'pending' | 'unknown' | 'succeeded' | 'failed';

export interface RefundView {
  id: string;
  paymentId: string;
  amountFen: number;
  amountText: string;
  reason: string;
  state: RefundState;
  /** the state in the current language */
  stateText: string;
  approvedBy: string | null;
  failureMessage: string | null;
  createdAtMs: number;
  timeText: string;
  /** unknown on a channel that cannot be asked: a manager records the outcome */
  canResolve: boolean;
}

export interface EventView {
  seq: number;
  atMs: number;
  timeText: string;
  kind: string;
  /** one localized line */
  text: string;
}

export interface PaymentDetail {
  payment: PaymentView;
  clerk: string | null;
  terminal: string;
  channelName: string;
  walletName: string | null;
  paidAtMs: number | null;
  /** "2026-11-22 14:03:25" */
  dateTimeText: string;
  /** oldest first */
  events: EventView[];
  refunds: RefundView[];
  refundableFen: number;
  refundableText: string;
  canRefund: boolean;
  /** the payment is unresolved and no process is driving it: a manager may record the outcome */
  canForce: boolean;
}

export type ForcedOutcome = 'paid' | 'not_paid';
export type RefundOutcome = 'succeeded' | 'failed';

export interface AuditEntry {
  seq: number;
  atMs: number;
  timeText: string;
  user: string | null;
  role: Role | null;
  action: string;
  /** the action in the current language */
  actionText: string;
  target: string | null;
  reason: string | null;
  detail: string;
}

/** `audit_log`'s filters; all optional. `user` is a user's name as the entries show it. */
export interface AuditQuery {
  fromMs?: number | null;
  toMs?: number | null;
  action?: string | null;
  user?: string | null;
  limit?: number | null;
}

// ---------------------------------------------------------------- scanners

/** What became of one scan (the core decides; the UI only shows it). */
export type ScanOutcome =
  /** the scan started this payment: show it as any started payment */
  | { kind: 'charging'; payment: PaymentView }
  /** no payment was armed: show `message` as a notice, use nothing */
  | { kind: 'not_waiting' }
  /** the same code again within the dedupe window: ignore silently */
  | { kind: 'duplicate' }
  /** armed, but this code cannot pay: show `message` in the scan overlay, which stays armed */
  | { kind: 'rejected'; code: string }
  /** a receipt's QR (its order number, which is in this ledger): open that payment */
  | { kind: 'receipt'; paymentId: string };

export interface ScanEvent {
  source: ScanSource;
  /** payment codes masked by the core, product codes in full */
  codeShown: string;
  atMs: number;
  outcome: ScanOutcome;
  /** in the current language */
  message: string;
}

export type Parity = 'none' | 'odd' | 'even';
export type Terminator = 'cr' | 'lf' | 'crlf';

export interface SerialSettings {
  enabled: boolean;
  port: string;
  baud: number;
  data_bits: 5 | 6 | 7 | 8;
  parity: Parity;
  stop_bits: 1 | 2;
  terminator: Terminator;
  stale_after_ms: number;
}

export interface WedgeSettings {
  enabled: boolean;
  min_length: number;
  max_gap_ms: number;
}

export interface CameraSettings {
  enabled: boolean;
  /** a camera index ("0"), a device path, `files:<dir>`, or "" for the first camera */
  device: string;
  width: number;
  height: number;
  fps: number;
  beep: boolean;
}

/** The config file's `[scanners]` section, with its own (snake_case) keys. */
export interface Scanners {
  dedupe_window_ms: number;
  serial: SerialSettings;
  wedge: WedgeSettings;
  camera: CameraSettings;
}

export type SerialState =
  | { state: 'off' }
  | { state: 'connecting'; port: string }
  | { state: 'connected'; port: string }
  | { state: 'disconnected'; port: string; reason: string; retry_in_ms: number };

export type CameraState =
  | { state: 'off' }
  | { state: 'starting' }
  | { state: 'running'; source: string }
  | { state: 'failed'; reason: string };

export interface ScannerStates {
  serial: SerialState;
  camera: CameraState;
}

export interface ScannerSettingsView extends ScannerStates {
  settings: Scanners;
  /** serial ports found on this machine */
  ports: { name: string; description: string }[];
  /** cameras found (may be empty) */
  cameras: { device: string; name: string }[];
}

/** One frame of the camera, for the scan overlay's live view. */
export interface CameraPreview {
  /** data:image/jpeg;base64,… */
  dataUrl: string;
  frameWidth: number;
  frameHeight: number;
}

export interface CheckedAmount {
  amountFen: number;
  amountText: string;
}

export interface Today {
  payments: PaymentView[];
  /** Unfinished payments of any day, still being resolved by the core. */
  attention: PaymentView[];
  totals: { count: number; paidCount: number; paidText: string; refundedText: string; netText: string };
}

export interface PaymentAlert {
  id: string;
  message: string;
}

/** A rejected command as the core sends it: `message` is already localized. */
export interface CoreError {
  code: string;
  message: string;
}

/** Thrown when there is no core to talk to (no Tauri IPC, or a non-contract failure). */
export class CoreUnreachable extends Error {
  constructor(readonly reason: unknown) {
    super('cashier core unreachable');
  }
}

export function isCoreError(e: unknown): e is CoreError {
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof (e as CoreError).message === 'string' &&
    typeof (e as CoreError).code === 'string'
  );
}

let signedOutListener: (() => void) | null = null;

/**
 * Called whenever a command is rejected with `signed_out` (signing in is required and no one is
 * signed in, or the idle lock passed): the app shows the sign-in screen. One listener (the app).
 */
export function onSignedOut(listener: (() => void) | null): void {
  signedOutListener = listener;
}

/** Invokes a command of the core. Every command goes through here (also those of other modules):
 * a rejection is the core's `{ code, message }` or `CoreUnreachable`, and `signed_out` is noticed. */
export async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    if (isCoreError(e)) {
      if (e.code === 'signed_out') signedOutListener?.();
      throw e;
    }
    throw new CoreUnreachable(e);
  }
}

export const api = {
  bootstrap: () => call<Bootstrap>('bootstrap'),
  setLanguage: (lang: Lang) => call<Bootstrap>('set_language', { lang }),
  checkAmount: (amountText: string) => call<CheckedAmount>('check_amount', { amountText }),
  /** The next payment code from any source pays `amountText` through `channel`; with `charge`
   * (a charge id) it pays that charge and `amountText` is ignored (send ""). */
  armScan: (channel: string, amountText: string, charge?: string | null) =>
    call<null>('arm_scan', { channel, amountText, ...chargeArg(charge) }),
  /** The scan overlay closed without a payment. */
  disarmScan: () => call<null>('disarm_scan'),
  /** A scan of the UI's own (wedge, typed): the core's answer is the same `ScanEvent` as the event's. */
  submitScan: (code: string, source: OwnScanSource, keypad?: { channel: string; amountText: string; charge: string | null }) =>
    call<ScanEvent>('submit_scan', {
      code,
      source,
      ...(keypad ? { channel: keypad.channel, amountText: keypad.amountText, ...chargeArg(keypad.charge) } : {}),
    }),
  scannerSettings: () => call<ScannerSettingsView>('scanner_settings'),
  /** A protected action: changing the settings takes a manager's approval. */
  saveScannerSettings: (approval: Approval, settings: Scanners) =>
    call<ScannerSettingsView>('save_scanner_settings', { approval, settings }),
  /** `method`: one of the channel's `methods[].code`, or null (the core takes the first). With
   * `charge` (a charge id) the payment collects that charge and `amountText` is ignored (send ""). */
  startQr: (channel: string, amountText: string, method: string | null, charge?: string | null) =>
    call<PaymentView>('start_qr', { channel, amountText, method, ...chargeArg(charge) }),
  cancelPayment: (id: string) => call<PaymentView>('cancel_payment', { id }),
  today: () => call<Today>('today'),
  ackAlert: (id: string) => call<null>('ack_alert', { id }),

  /** Gives a charge up: its attempt (if any) is cancelled at the channel (`cancelling`, then
   * `cancelled`, or `paid` when the customer had paid already). */
  cancelCharge: (id: string) => call<ChargeView>('cancel_charge', { id }),
  /** What the customer display shows when it (re)starts. */
  displayBootstrap: () => call<DisplayBootstrap>('display_bootstrap'),
  /** The basket's total as the core adds it up (the UI never adds). */
  kioskQuote: (items: BasketItem[]) => call<Quote>('kiosk_quote', { items }),
  /** An open charge (origin `kiosk`) for the basket. */
  kioskOrder: (items: BasketItem[]) => call<ChargeView>('kiosk_order', { items }),
  /** A protected action (approval `leave_kiosk`): the answer is the clerk window's bootstrap (`kiosk: null`). */
  leaveKiosk: (approval: Approval) => call<Bootstrap>('leave_kiosk', { approval }),

  signIn: (userId: number, pin: string) => call<Session>('sign_in', { userId, pin }),
  signOut: () => call<null>('sign_out'),
  /** The idle lock: the same as sign_out (the UI preselects the user on the sign-in screen). */
  lock: () => call<null>('lock'),
  users: () => call<UserInfo[]>('users'),
  /** Only while no user exists; signs the new manager in. */
  createFirstManager: (name: string, pin: string) => call<Session>('create_first_manager', { name, pin }),
  addUser: (approval: Approval, name: string, role: Role, pin: string) =>
    call<UserInfo[]>('add_user', { approval, name, role, pin }),
  /** A manager's change to a user; `pin` only for `reset_pin`. The answer is the new list. */
  changeUser: (approval: Approval, userId: number, what: UserChange, pin?: string) =>
    call<UserInfo[]>('change_user', { approval, userId, what, ...(pin === undefined ? {} : { pin }) }),

  paymentDetail: (id: string) => call<PaymentDetail>('payment_detail', { id }),
  /** `amountText` as typed: the core parses and checks it against what can still be refunded. */
  refund: (approval: Approval, paymentId: string, amountText: string, reason: string) =>
    call<PaymentDetail>('refund', { approval, paymentId, amountText, reason }),
  forceOutcome: (approval: Approval, paymentId: string, outcome: ForcedOutcome, reason: string) =>
    call<PaymentDetail>('force_outcome', { approval, paymentId, outcome, reason }),
  resolveRefund: (approval: Approval, refundId: string, outcome: RefundOutcome, reason: string) =>
    call<PaymentDetail>('resolve_refund', { approval, refundId, outcome, reason }),
  /** Newest first. */
  /** Payments found by an amount, the last four digits of the payment code, or part of the order number. */
  searchPayments: (query: string) => call<PaymentView[]>('search_payments', { query }),
  auditLog: (q: AuditQuery = {}) =>
    call<AuditEntry[]>('audit_log', {
      fromMs: q.fromMs ?? null,
      toMs: q.toMs ?? null,
      action: q.action ?? null,
      user: q.user ?? null,
      limit: q.limit ?? null,
    }),
};

/** `charge` goes to the core only when given: a call without it is the same as before charges. */
function chargeArg(charge: string | null | undefined): { charge?: string } {
  return charge ? { charge } : {};
}

/** Handlers of the core's events; `subscribe` listens only to those given. */
export interface CoreEvents {
  onUpdate(view: PaymentView): void;
  onAlert(alert: PaymentAlert): void;
  /** every non-duplicate scan from any source (the UI's own ones included: filter by `source`) */
  onScan(event: ScanEvent): void;
  onScannerState(state: ScannerStates): void;
  onCameraPreview(preview: CameraPreview): void;
  /** every change of a charge (created, attempt started or ended, cancelled, paid) */
  onCharge(charge: ChargeView): void;
  /** the clerk switched the language (for the customer display) */
  onLanguage(event: LanguageEvent): void;
  /** the print queue changed: the open jobs (waiting, printing, failed), oldest first */
  onPrintJobs(jobs: PrintJobView[]): void;
  /** the ledger's start-up check ended */
  onLedgerCheck(check: LedgerCheckView): void;
}

/** The ledger's start-up integrity check (`ledger-check` event, `Bootstrap.ledgerCheck`). */
export interface LedgerCheckView {
  state: 'checking' | 'intact' | 'damaged';
  /** for a damaged ledger: what is wrong and what to do */
  message: string | null;
}

/** The `language` event's payload. */
export interface LanguageEvent {
  lang: Lang;
}

/** Subscribes to the core's events that have a handler in `h`; throws CoreUnreachable when there
 * is no Tauri IPC. */
export async function subscribe(h: Partial<CoreEvents>): Promise<UnlistenFn> {
  const unlisteners: UnlistenFn[] = [];
  const all = () => {
    for (const un of unlisteners) un();
  };
  const on = async <T>(event: string, handler: ((payload: T) => void) | undefined) => {
    if (handler) unlisteners.push(await listen<T>(event, (e) => handler.call(h, e.payload)));
  };
  try {
    await on<PaymentView>('payment-update', h.onUpdate);
    await on<PaymentAlert>('payment-alert', h.onAlert);
    await on<ScanEvent>('scan', h.onScan);
    await on<ScannerStates>('scanner-state', h.onScannerState);
    await on<CameraPreview>('camera-preview', h.onCameraPreview);
    await on<ChargeView>('charge-update', h.onCharge);
    await on<LanguageEvent>('language', h.onLanguage);
    await on<PrintJobView[]>('print-jobs', h.onPrintJobs);
    await on<LedgerCheckView>('ledger-check', h.onLedgerCheck);
  } catch (e) {
    all();
    throw new CoreUnreachable(e);
  }
  return all;
}
