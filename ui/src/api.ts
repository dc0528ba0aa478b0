// Types and calls of the contract between the Rust core and the UI (docs/ui-contract.md).
// Money arrives as integer fen plus the core's `amountText`; the UI shows `amountText` only.

import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';

export type Lang = 'zh' | 'en';

export type PaymentState = 'created' | 'pending' | 'unknown' | 'paid' | 'failed' | 'closed' | 'reversed';

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
  phase: Phase;
  final: boolean;
  late: boolean;
  wallet: string | null;
  codeMasked: string | null;
  qrSvg: string | null;
  /** for `customer_window` payments: an internal form (JSON), never shown */
  qrPayload: string | null;
  display: QrDisplay;
  deadlineAtMs: number | null;
  message: string;
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
  demo: null | { sampleCodes: { code: string; label: string }[]; sandboxUrl: string };
  active: PaymentView | null;
  /** Late payments nobody has acknowledged yet; they come back after a restart until dismissed. */
  alerts: PaymentAlert[];
  /** the `[scanners]` settings (the wedge thresholds are applied by the UI's detector) */
  scanners: Scanners;
  scannerState: ScannerStates;
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
  | { kind: 'rejected'; code: string };

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

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    if (isCoreError(e)) throw e;
    throw new CoreUnreachable(e);
  }
}

export const api = {
  bootstrap: () => call<Bootstrap>('bootstrap'),
  setLanguage: (lang: Lang) => call<Bootstrap>('set_language', { lang }),
  checkAmount: (amountText: string) => call<CheckedAmount>('check_amount', { amountText }),
  /** The next payment code from any source pays `amountText` through `channel`. */
  armScan: (channel: string, amountText: string) => call<null>('arm_scan', { channel, amountText }),
  /** The scan overlay closed without a payment. */
  disarmScan: () => call<null>('disarm_scan'),
  /** A scan of the UI's own (wedge, typed): the core's answer is the same `ScanEvent` as the event's. */
  submitScan: (code: string, source: OwnScanSource) => call<ScanEvent>('submit_scan', { code, source }),
  scannerSettings: () => call<ScannerSettingsView>('scanner_settings'),
  saveScannerSettings: (settings: Scanners) => call<ScannerSettingsView>('save_scanner_settings', { settings }),
  /** `method`: one of the channel's `methods[].code`, or null (the core takes the first). */
  startQr: (channel: string, amountText: string, method: string | null) =>
    call<PaymentView>('start_qr', { channel, amountText, method }),
  cancelPayment: (id: string) => call<PaymentView>('cancel_payment', { id }),
  today: () => call<Today>('today'),
  ackAlert: (id: string) => call<null>('ack_alert', { id }),
};

export interface CoreEvents {
  onUpdate(view: PaymentView): void;
  onAlert(alert: PaymentAlert): void;
  /** every non-duplicate scan from any source (the UI's own ones included: filter by `source`) */
  onScan(event: ScanEvent): void;
  onScannerState(state: ScannerStates): void;
  onCameraPreview(preview: CameraPreview): void;
}

/** Subscribes to the core's events; throws CoreUnreachable when there is no Tauri IPC. */
export async function subscribe(h: CoreEvents): Promise<UnlistenFn> {
  const unlisteners: UnlistenFn[] = [];
  const all = () => {
    for (const un of unlisteners) un();
  };
  try {
    unlisteners.push(await listen<PaymentView>('payment-update', (e) => h.onUpdate(e.payload)));
    unlisteners.push(await listen<PaymentAlert>('payment-alert', (e) => h.onAlert(e.payload)));
    unlisteners.push(await listen<ScanEvent>('scan', (e) => h.onScan(e.payload)));
    unlisteners.push(await listen<ScannerStates>('scanner-state', (e) => h.onScannerState(e.payload)));
    unlisteners.push(await listen<CameraPreview>('camera-preview', (e) => h.onCameraPreview(e.payload)));
  } catch (e) {
    all();
    throw new CoreUnreachable(e);
  }
  return all;
}
