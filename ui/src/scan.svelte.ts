// Payment codes at the counter: the scan overlay (armed for the amount or the charge), the wedge
// capture (wedgeCapture.ts), the serial scanner's and the camera's `scan` events, and the wedge's
// passive scans outside the overlay. Every code goes through the core (`submit_scan`), which
// decides what it pays; this file shows what it decided.

import {
  api,
  type CameraPreview,
  type OwnScanSource,
  type PaymentView,
  type ScanEvent,
  type ScannerSettingsView,
  type ScannerStates,
  type Scanners,
} from './api';
import type { ChargeView } from './charges';
import type { MessageKey } from './i18n';
import type { KeypadArm, Want } from './keypadArm';
import { isOwnSource, scannerStatus, scanSound, wedgeConfig } from './scanners';
import { playSound } from './sounds';
import { maskEcho, WedgeCapture } from './wedgeCapture';

export interface ScanSession {
  /** the amount as the core formatted it (check_amount) */
  amountText: string;
  /** the amount as the clerk typed it: what was sent to arm_scan */
  typed: string;
  manual: string;
  echo: string;
  busy: boolean;
  error: string | null;
}

export interface ScanHost {
  t(key: MessageKey, vars?: Record<string, string | number>): string;
  errorText(e: unknown): string;
  showNotice(text: string): void;
  /** the clerk window reads scans (never in kiosk mode: the kiosk reads its own) */
  readsScans(): boolean;
  ready(): boolean;
  /** a payment (its result included) is on screen */
  paymentShown(): boolean;
  showPayment(v: PaymentView): void;
  /** a PIN is being typed (the sign-in screen, the manager's prompt) */
  pinTyped(): boolean;
  settingsOpen(): boolean;
  /** what the keypad would arm: the amount a passive wedge scan pays */
  keypadWant(): Want;
  /** the keypad's arming queue: the overlay's arm and disarm take their turn in it */
  keypadArm: KeypadArm;
  /** what a wedge scan may have typed into (amount, PINs): returns its restore */
  snapshot(): () => void;
  /** a receipt's QR was scanned */
  openReceipt(paymentId: string, message: string): void;
  /** the overlay closed without a payment */
  closed(): void;
}

export class ScanFlow {
  /** the scan overlay, when open */
  session = $state<ScanSession | null>(null);
  /** the latest camera frame while the scan overlay is open */
  preview = $state<CameraPreview | null>(null);
  /** `[scanners]` as the core last sent it (bootstrap, settings) */
  scanners = $state<Scanners | null>(null);
  /** live state of the serial scanner and the camera (`scanner-state` events) */
  scannerState = $state<ScannerStates | null>(null);
  /** the header's scanner pill: null when neither the serial scanner nor the camera is enabled */
  pill = $derived(scannerStatus((k, v) => this.host.t(k, v), this.scanners, this.scannerState, this.session !== null));

  readonly capture = new WedgeCapture({
    isOff: () => !this.host.readsScans(),
    isScanMode: () => this.session !== null && !this.host.paymentShown(),
    onEntry: (v) => {
      if (this.session) {
        this.session.manual = v.manual;
        this.session.echo = v.echo;
      }
    },
    onScan: (code) => void this.submitCode(code, 'wedge'),
    onManualSubmit: (text) => void this.submitCode(text, 'manual'),
    snapshot: () => this.host.snapshot(),
    onPassiveScan: (code) => void this.passiveScan(code),
  });

  constructor(private readonly host: ScanHost) {}

  /** Takes `[scanners]` from the core: the wedge thresholds go to the detector at once. */
  takeScanners(s: Scanners): void {
    this.scanners = s;
    // (in kiosk mode this capture is off, see `readsScans`; its thresholds stay current for after)
    this.capture.sync(wedgeConfig(s));
  }

  takeState = (st: ScannerStates): void => {
    this.scannerState = st;
    if (st.camera.state !== 'running') this.preview = null;
  };

  /** What the settings screen read or saved: the settings and the scanners' state. */
  takeView(v: ScannerSettingsView): void {
    this.takeScanners(v.settings);
    this.takeState({ serial: v.serial, camera: v.camera });
  }

  /** A camera frame: it only matters while the overlay that shows it is open. */
  takePreview = (p: CameraPreview): void => {
    if (this.session) this.preview = p;
  };

  /** Arms the core for the charge, or for the amount typed once the core has checked it, and
   * opens the overlay; from then on the next payment code from any source (wedge, serial, camera,
   * typed) pays it. */
  async open(channel: string, charge: ChargeView | null, amount: string): Promise<void> {
    // a charge's amount comes from the charge: nothing typed is checked or sent
    const typed = charge ? '' : amount;
    let amountText: string;
    if (charge) {
      await this.host.keypadArm.exclusive(() => api.armScan(channel, '', charge.id));
      amountText = charge.amountText;
    } else {
      amountText = (await api.checkAmount(typed)).amountText;
      await this.host.keypadArm.exclusive(() => api.armScan(channel, typed));
    }
    // a code from the serial scanner or the camera may already have started the payment
    if (this.host.paymentShown()) return;
    this.capture.reset();
    this.preview = null;
    this.session = { amountText, typed, manual: '', echo: '', busy: false, error: null };
  }

  /** Closes the overlay without a payment (Esc, Back): the core stops waiting for a code. */
  close = (): void => {
    if (!this.session || this.session.busy) return;
    this.clear();
    this.host.keypadArm.exclusive(() => api.disarmScan()).catch((e) => this.host.showNotice(this.host.errorText(e)));
    this.host.closed();
  };

  /** The overlay goes without a word to the core (it stopped waiting itself, or is told apart). */
  clear(): void {
    this.session = null;
    this.preview = null;
    this.capture.reset();
  }

  /** The manual field changed by itself (paste, on-screen keyboard). */
  manualInput = (text: string): void => {
    if (!this.session) return;
    this.capture.setManual(text);
    this.session.manual = text;
    this.session.echo = '';
  };

  submitManual = (): void => {
    const text = this.session?.manual.trim() ?? '';
    if (text !== '') void this.submitCode(text, 'manual');
  };

  /** A code scanned by the wedge or typed by the clerk in the scan overlay: the core decides. */
  submitCode = async (code: string, source: OwnScanSource): Promise<void> => {
    const s = this.session;
    if (!s || s.busy || this.host.paymentShown()) return;
    s.busy = true;
    s.error = null;
    let ev: ScanEvent;
    try {
      ev = await api.submitScan(code, source);
    } catch (e) {
      if (this.session === s) {
        s.busy = false;
        s.error = this.host.errorText(e);
        s.manual = '';
        s.echo = '';
        this.capture.reset();
      }
      return;
    }
    if (this.session === s) s.busy = false;
    // a code from the serial scanner or the camera paid while this one was on its way
    if (ev.outcome.kind === 'not_waiting' && this.session === null && this.host.paymentShown()) return;
    this.handleScanEvent(ev);
  };

  /** The wedge read a whole code outside the scan overlay (what it typed is already undone). */
  passiveScan = async (code: string): Promise<void> => {
    if (!this.host.readsScans()) return;
    if (this.host.pinTyped()) {
      // a PIN is being typed: what was read is undone and goes nowhere
      this.host.showNotice(this.host.t('wedgeScanIgnored', { n: [...code].length, code: maskEcho(code) }));
      return;
    }
    if (this.host.settingsOpen()) {
      // keys typed into the settings go nowhere: say what was read (a test of the scanner), no more
      this.host.showNotice(this.host.t('wedgeScanInSettings', { n: [...code].length, code: maskEcho(code) }));
      return;
    }
    if (!this.host.ready()) return;
    // the amount on the keypad (what the wedge typed there is already undone) is what this code pays
    const want = this.host.keypadWant();
    try {
      const keypad = want && want !== 'hands-off' ? want : null;
      this.handleScanEvent(await (keypad ? api.submitScan(code, 'wedge', keypad) : api.submitScan(code, 'wedge')));
    } catch (e) {
      this.host.showNotice(this.host.errorText(e));
    }
  };

  /** A `scan` event: the UI's own scans (wedge, manual) came back as submit_scan's answer already;
   * in kiosk mode the kiosk follows them (`readsScans`). */
  onScanEvent = (ev: ScanEvent): void => {
    if (!this.host.readsScans() || isOwnSource(ev.source)) return;
    this.handleScanEvent(ev);
  };

  /** What a scan became, from submit_scan's answer or a `scan` event of the serial scanner / camera. */
  handleScanEvent = (ev: ScanEvent): void => {
    const sound = scanSound(ev, this.scanners);
    if (sound) playSound(sound);
    const outcome = ev.outcome;
    switch (outcome.kind) {
      case 'charging':
        // the core disarmed itself: the payment is on its way
        if (this.session) {
          this.session = null;
          this.capture.reset();
        }
        this.preview = null;
        this.host.showPayment(outcome.payment);
        return;
      case 'rejected': {
        const s = this.session;
        if (!s || this.host.paymentShown()) {
          this.host.showNotice(ev.message);
          return;
        }
        // the overlay stays open and armed; the clerk's own code is cleared for the next try
        s.error = ev.message;
        if (isOwnSource(ev.source)) {
          s.manual = '';
          s.echo = '';
          this.capture.reset();
        }
        return;
      }
      case 'not_waiting':
        this.host.showNotice(ev.message || this.host.t('passiveScanNotice'));
        return;
      case 'duplicate':
        return;
      case 'receipt':
        this.host.openReceipt(outcome.paymentId, ev.message);
        return;
    }
  };
}
