// The application state (Svelte 5 runes) and the actions the screens call. Everything about money
// and payment state comes from the core: this file only stores what the core sent and forwards what
// the clerk did.

import {
  api,
  isCoreError,
  onSignedOut,
  subscribe,
  type Bootstrap,
  type LedgerCheckView,
  type CameraPreview,
  type Channel,
  type Lang,
  type OwnScanSource,
  type PaymentAlert,
  type PaymentView,
  type ScanEvent,
  type ScannerSettingsView,
  type ScannerStates,
  type Scanners,
  type TenderMethod,
  type Today,
} from './api';
import type { ChargeView, KioskInfo, Tender } from './charges';
import { canDismiss, chargeFromBoot, enterAction, nextCharge, openCharge as toCollect, preferredChannel } from './chargeFlow';
import { amountKeyFromEvent, editAmount, type AmountKey } from './amountEdit';
import { KeypadArm, wishKey, type Want } from './keypadArm';
import { translate, type MessageKey } from './i18n';
import { mergeView, rememberView, resultKind } from './payment';
import { playSound } from './sounds';
import {
  hasMethodPicker,
  loadTender,
  nextChannel,
  pickChannel,
  pickMethod,
  saveTender,
  sessionStore,
  showsTenderBar,
} from './tender';
import {
  FIELD_LABELS,
  formFromScanners,
  isOwnSource,
  scannersFromForm,
  scannerStatus,
  scanSound,
  wedgeConfig,
  type NumberField,
  type ScannerForm,
} from './scanners';
import { maskEcho, WedgeCapture } from './wedgeCapture';
import { Approvals } from './approval.svelte';
import { IdleTimer, type IdleConfig } from './idle';
import { ManagerArea, type ManagerTab } from './manager.svelte';
import { PaymentDetailState } from './paymentDetail.svelte';
import { People } from './people.svelte';
import { PrinterSettings, PrintQueue } from './printing.svelte';

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

/** The scanner settings screen. */
export interface SettingsSession {
  /** null until the settings are read */
  form: ScannerForm | null;
  ports: ScannerSettingsView['ports'];
  cameras: ScannerSettingsView['cameras'];
  busy: null | 'load' | 'refresh' | 'save';
  /** the core's message (save refused, read failed) or the UI's own (not a whole number) */
  error: string | null;
  /** the field that is not a whole number */
  invalid: NumberField | null;
}

const TODAY_REFRESH_MS = 30_000;
/** a waiting payment is cancelled by a second Esc (or Cancel) within this long of the first */
export const CANCEL_CONFIRM_MS = 3_000;
const NOTICE_MS = 6_000;
const CACHE_LIMIT = 100;

export class AppState {
  lang = $state<Lang>('zh');
  status = $state<'starting' | 'ready' | 'unreachable'>('starting');
  fatalDetail = $state<string | null>(null);
  boot = $state<Bootstrap | null>(null);
  channelId = $state('');
  amount = $state('');
  amountError = $state<string | null>(null);
  busy = $state<null | 'check' | 'qr' | 'lang'>(null);
  scan = $state<ScanSession | null>(null);
  active = $state<PaymentView | null>(null);
  activeError = $state<string | null>(null);
  cancelBusy = $state(false);
  today = $state<Today | null>(null);
  todayError = $state(false);
  alerts = $state<PaymentAlert[]>([]);
  notice = $state<string | null>(null);
  now = $state(Date.now());
  /** `[scanners]` as the core last sent it (bootstrap, settings) */
  scanners = $state<Scanners | null>(null);
  /** live state of the serial scanner and the camera (`scanner-state` events) */
  scannerState = $state<ScannerStates | null>(null);
  /** the latest camera frame while the scan overlay is open */
  preview = $state<CameraPreview | null>(null);
  /** the scanner settings screen, when open */
  settings = $state<SettingsSession | null>(null);
  /** the ledger's start-up integrity check: payments wait while `checking` */
  ledgerCheck = $state<LedgerCheckView['state']>('intact');

  /** the method picked per channel (code), for the session */
  methodCodes = $state<Record<string, string>>({});
  /** the manager area, when open */
  manager = $state<ManagerArea | null>(null);
  /** the payment detail, when open (over the main screen or the manager area) */
  detail = $state<PaymentDetailState | null>(null);
  /** the charge followed (`Bootstrap.charge`, then `charge-update`); a final one stays until its
   * payment's result is dismissed */
  charge = $state.raw<ChargeView | null>(null);
  /** `cancel_charge` is on its way */
  chargeBusy = $state(false);

  /** who is signed in; the sign-in screen */
  readonly people = new People({
    t: (k) => this.t(k),
    errorText: (e) => this.errorText(e),
    onSignedIn: () => this.signedIn(),
    onSignedOut: () => this.signedOut(),
  });
  /** the manager's PIN prompt for protected actions */
  readonly approvals = new Approvals({
    users: () => api.users(),
    knownUsers: () => this.people.info.users,
    sessionUserId: () => this.people.session?.userId ?? null,
    message: (k) => this.t(k),
  });
  /** Runs a protected call with a manager's approval (see `WithApproval` in api.ts). */
  readonly withApproval = this.approvals.withApproval;
  /** the receipt printer's queue, its failed slips and the slip preview */
  readonly printing = new PrintQueue({
    withApproval: this.withApproval,
    t: (k, vars) => this.t(k, vars),
    errorText: (e) => this.errorText(e),
    showNotice: (text) => this.showNotice(text),
  });
  /** the idle lock (App.svelte feeds it `idleConfig`) */
  readonly idle = new IdleTimer(() => void this.people.lock());

  /** kiosk mode: only the kiosk screens show (no header, sign-in, settings, manager area, idle lock) */
  kiosk: KioskInfo | null = $derived(this.boot?.kiosk ?? null);
  /**
   * The clerk window reads scans: its wedge capture, and the serial scanner's and camera's `scan`
   * events. The one rule: never in kiosk mode, where the kiosk reads its own (and the clerk's
   * notices and payment overlay must not show to the customer).
   */
  readsScans: boolean = $derived(this.kiosk === null);
  /** the charge to collect now: the amount is locked to it and the tender actions pass it */
  openCharge: ChargeView | null = $derived(toCollect(this.charge));
  /** what the amount display shows: the charge's amount (the core's text), else what was typed */
  amountShown: string = $derived(this.openCharge ? this.openCharge.amountText : this.amount);
  /** the charge's preferred tender (Enter starts it), or null */
  preferredTender: Tender | null = $derived(this.openCharge?.tender ?? null);

  channel: Channel | null = $derived(
    this.boot?.channels.find((c) => c.id === this.channelId) ?? this.boot?.channels[0] ?? null,
  );
  /** the tender a QR payment on the selected channel uses; null when the channel has no choice */
  method: TenderMethod | null = $derived(pickMethod(this.channel, this.methodCodes[this.channel?.id ?? '']));
  /** the method picker is shown (the selected channel does QR and offers methods) */
  methodPicker: boolean = $derived(hasMethodPicker(this.channel));
  /** the tender bar is shown (more than one channel, or a method to pick) */
  tenderBar: boolean = $derived(showsTenderBar(this.boot?.channels ?? [], this.channel));
  /** the clerk cannot change the tender now (a check, a payment, the scan overlay or the settings are under way) */
  tenderLocked: boolean = $derived(
    this.busy !== null || this.scan !== null || this.active !== null || this.settings !== null,
  );
  /** a payment, the scan overlay or an amount check is under way: the idle lock waits */
  private idleBusy: boolean = $derived(
    this.busy !== null || this.scan !== null || (this.active !== null && resultKind(this.active) === null),
  );
  /** what Enter starts on the selected channel: the scan, or the QR a charge prefers */
  enterAction: 'scan' | 'qr' = $derived(enterAction(this.channel, this.preferredTender));
  /** what the idle lock runs on: signing in is required, someone is signed in, nothing under way
   * (never in kiosk mode: the kiosk resets itself) */
  idleConfig: IdleConfig = $derived({
    enabled: this.kiosk === null && this.people.info.signInRequired && this.people.session !== null,
    busy: this.idleBusy,
    timeoutMs: this.people.info.idleLockMs,
  });
  /** the keypad armed the scan: the next payment code pays the amount on screen */
  keypadArmed = $state(false);
  /** App.svelte tells `keypadArm` whenever this changes */
  keypadWantKey: string = $derived.by(() => {
    const w = this.keypadWant;
    return w === null ? '' : w === 'hands-off' ? 'hands-off' : wishKey(w);
  });
  /** how long the keypad waits for the amount to be still before arming: longer than the gaps
   * between a wedge scanner's keys, so what a wedge types is never armed */
  keypadArmDelayMs: number = $derived(Math.max(250, 3 * (this.scanners?.wedge.max_gap_ms ?? 50)));
  /** the header's scanner pill: null when neither the serial scanner nor the camera is enabled */
  scannerPill = $derived(
    scannerStatus((k, v) => this.t(k, v), this.scanners, this.scannerState, this.scan !== null),
  );

  /** latest view of each payment seen (events and command replies), to order out-of-order arrivals */
  private views = new Map<string, PaymentView>();
  /** when the current countdown of a payment started: [deadlineAtMs, startMs] */
  private countdowns = new Map<string, [number, number]>();
  private sounded = new Set<string>();
  private noticeTimer: number | undefined;
  private todayInFlight = false;
  private todayAgain = false;
  private unlisten: (() => void) | null = null;
  private timers: number[] = [];
  /** the "paid" screen's way back to the keypad (`[counter] paid_close_seconds`) */
  private paidCloseTimer: number | undefined;
  /** the first Esc (or Cancel) on a payment under way asks for a second one until then */
  cancelArmedUntil = $state<number | null>(null);
  /** the payments the clerk cancelled on purpose: their end is "cancelled", not a failure */
  private cancelledByClerk = new Set<string>();
  /** when "paid" goes back to the keypad by itself (for its countdown), or null */
  paidCloseAtMs = $state<number | null>(null);
  /** the charge whose preferred channel was selected (once per charge) */
  private preselectedFor: string | null = null;
  /** the charge selected its own channel: the clerk's choice comes back when it ends */
  private channelByCharge = false;

  readonly capture = new WedgeCapture({
    isOff: () => !this.readsScans,
    isScanMode: () => this.scan !== null && this.active === null,
    onEntry: (v) => {
      if (this.scan) {
        this.scan.manual = v.manual;
        this.scan.echo = v.echo;
      }
    },
    onScan: (code) => void this.submitCode(code, 'wedge'),
    onManualSubmit: (text) => void this.submitCode(text, 'manual'),
    snapshot: () => {
      const amount = this.amount;
      const pin = this.people.form.pin;
      const promptPin = this.approvals.prompt?.pin;
      return () => {
        this.amount = amount;
        this.people.form.pin = pin;
        if (this.approvals.prompt && promptPin !== undefined) this.approvals.prompt.pin = promptPin;
      };
    },
    onPassiveScan: (code) => void this.passiveScan(code),
  });

  readonly keypadArm = new KeypadArm({
    arm: (w) => api.armScan(w.channel, w.amountText, w.charge),
    disarm: () => api.disarmScan(),
    want: () => this.keypadWant,
    onArmed: (armed) => (this.keypadArmed = armed),
  });

  constructor() {
    const saved = loadTender(sessionStore());
    this.channelId = saved.channel;
    this.methodCodes = saved.methods;
  }

  t = (key: MessageKey, vars?: Record<string, string | number>): string => translate(this.lang, key, vars);

  /** A failed command's message for the clerk: the core's own, or "lost contact". */
  private errorText(e: unknown): string {
    return isCoreError(e) ? e.message : this.t('coreLost');
  }

  // ---------------------------------------------------------------- start-up

  /** Starts timers and the wedge capture once; returns the teardown. */
  mount(): () => void {
    const removeCapture = this.capture.install(window);
    const removeIdle = this.idle.install(window);
    onSignedOut(() => this.people.signedOutByCore());
    this.timers.push(window.setInterval(() => (this.now = Date.now()), 250));
    this.timers.push(
      window.setInterval(() => {
        if (this.status === 'ready') void this.refreshToday();
      }, TODAY_REFRESH_MS),
    );
    void this.start();
    return () => {
      removeCapture();
      removeIdle();
      onSignedOut(null);
      for (const id of this.timers) window.clearInterval(id);
      this.timers = [];
      this.unlisten?.();
      this.unlisten = null;
    };
  }

  async start(): Promise<void> {
    this.status = 'starting';
    this.fatalDetail = null;
    try {
      if (!this.unlisten) {
        this.unlisten = await subscribe({
          onUpdate: (v) => this.applyUpdate(v),
          onAlert: (a) => this.addAlert(a),
          onScan: (ev) => this.onScanEvent(ev),
          onScannerState: (st) => this.applyScannerState(st),
          onCameraPreview: (p) => {
            // frames only matter while the overlay that shows them is open
            if (this.scan) this.preview = p;
          },
          onCharge: (c) => this.applyCharge(c),
          onPrintJobs: (jobs) => this.printing.take(jobs),
          onLedgerCheck: (c) => this.applyLedgerCheck(c),
        });
      }
      const b = await api.bootstrap();
      this.applyBoot(b);
      this.status = 'ready';
      if (b.active) this.showPayment(b.active);
      this.settleCharge();
      if (!this.signInShown) void this.refreshToday();
    } catch (e) {
      this.status = 'unreachable';
      this.fatalDetail = isCoreError(e) ? e.message : null;
    }
  }

  private applyBoot(b: Bootstrap): void {
    this.boot = b;
    for (const alert of b.alerts ?? []) {
      if (!this.alerts.some((x) => x.id === alert.id)) this.alerts = [...this.alerts, alert];
    }
    this.lang = b.lang;
    document.documentElement.lang = b.lang === 'zh' ? 'zh-CN' : 'en';
    // keep the clerk's channel (also across a reload) while the core still offers it
    this.channelId = pickChannel(b.channels, this.channelId, b.defaultChannel);
    if (b.scanners) this.applyScanners(b.scanners);
    if (b.scannerState) this.applyScannerState(b.scannerState);
    this.people.apply(b.people);
    this.charge = chargeFromBoot(this.charge, b.charge);
    if (b.ledgerCheck) this.applyLedgerCheck(b.ledgerCheck);
    this.printing.printer = b.printer ?? false;
    this.printing.take(b.printJobs ?? []);
  }

  /** A damaged ledger is refused as at start: the window shows what is wrong and nothing else. */
  private applyLedgerCheck(c: LedgerCheckView): void {
    this.ledgerCheck = c.state;
    if (c.state === 'damaged') {
      this.status = 'unreachable';
      this.fatalDetail = c.message;
    }
  }

  /**
   * Takes a whole bootstrap the core answered outside the start-up (e.g. `leave_kiosk`): with
   * `kiosk: null` the clerk window shows again (the sign-in screen when signing in is required).
   */
  applyBootstrap(b: Bootstrap): void {
    const leftKiosk = this.kiosk !== null && !b.kiosk;
    if (leftKiosk) {
      // what the kiosk had on its screen is not the clerk's
      this.scan = null;
      this.preview = null;
      this.capture.reset();
      this.active = null;
      this.activeError = null;
      this.amountError = null;
    }
    this.applyBoot(b);
    if (b.active) {
      if (this.active?.id === b.active.id || leftKiosk || !this.active) this.showPayment(b.active);
      else this.applyUpdate(b.active);
    }
    this.settleCharge();
    void this.refreshToday();
  }

  /** Takes `[scanners]` from the core: the wedge thresholds go to the detector at once. */
  private applyScanners(s: Scanners): void {
    this.scanners = s;
    // (in kiosk mode this capture is off, see `readsScans`; its thresholds stay current for after)
    this.capture.sync(wedgeConfig(s));
  }

  private applyScannerState(st: ScannerStates): void {
    this.scannerState = st;
    if (st.camera.state !== 'running') this.preview = null;
  }

  async toggleLanguage(): Promise<void> {
    const next: Lang = this.lang === 'zh' ? 'en' : 'zh';
    if (this.status !== 'ready') {
      this.lang = next;
      document.documentElement.lang = next === 'zh' ? 'zh-CN' : 'en';
      return;
    }
    if (this.busy) return;
    // Switch only once the core has: its messages must come in the same language as the
    // screen, so nothing may start while it changes.
    this.busy = 'lang';
    try {
      const b = await api.setLanguage(next);
      this.amountError = null; // written in the old language
      this.applyBoot(b);
      if (b.active) this.applyUpdate(b.active);
      this.settleCharge();
      void this.refreshToday();
      // the core's texts on the manager screens (states, history, actions) in the new language
      if (this.detail?.busy === null) void this.detail.load();
      if (this.manager?.tab === 'audit') void this.manager.audit.load();
    } catch (e) {
      this.showNotice(this.errorText(e));
    } finally {
      this.busy = null;
    }
  }

  // ---------------------------------------------------------------- events

  applyUpdate(v: PaymentView): void {
    const prev = this.views.get(v.id);
    const kept = mergeView(prev, v);
    this.remember(kept);
    if (this.active && this.active.id === kept.id) this.setActive(kept);
    if (kept.final && kept !== prev) void this.refreshToday();
    // the detail on screen shows this payment: read its history and refunds again
    if (this.detail?.id === kept.id && this.detail.busy === null) void this.detail.load();
  }

  /** A `charge-update` or `cancel_charge`'s answer. */
  applyCharge(c: ChargeView): void {
    const next = nextCharge(this.charge, c);
    if (next === this.charge) return;
    this.charge = next;
    this.settleCharge();
  }

  /**
   * After the charge changed or a payment result was dismissed: a final charge goes once no payment
   * is on screen (its result shows as for any payment); a new charge selects its preferred channel
   * once the tender is free to change.
   */
  private settleCharge(): void {
    // the kiosk screens follow the charge themselves (a final one stays until the next)
    if (this.kiosk) return;
    if (this.charge?.final && !this.active) this.charge = null;
    const c = this.openCharge;
    if (!c) {
      if (this.channelByCharge && !this.tenderLocked) {
        // the charge chose the channel: the clerk's own choice comes back
        this.channelByCharge = false;
        const channels = this.boot?.channels ?? [];
        this.channelId = pickChannel(channels, loadTender(sessionStore()).channel, this.boot?.defaultChannel ?? '');
      }
      if (!this.charge) this.preselectedFor = null;
      return;
    }
    if (this.preselectedFor === c.id || this.tenderLocked) return;
    this.preselectedFor = c.id;
    const id = preferredChannel(this.boot?.channels ?? [], c);
    if (id && id !== this.channelId) {
      // not remembered for the session: the preference is the charge's, not the clerk's
      this.channelId = id;
      this.channelByCharge = true;
      this.amountError = null;
    }
  }

  /** "Dismiss" on the charge banner (after its confirm step): the core cancels the charge and
   * its attempt, if any. */
  async cancelCharge(): Promise<void> {
    const c = this.openCharge;
    if (!c || !canDismiss(c) || this.chargeBusy) return;
    this.chargeBusy = true;
    this.amountError = null;
    try {
      this.applyCharge(await api.cancelCharge(c.id));
    } catch (e) {
      this.amountError = this.errorText(e);
    } finally {
      this.chargeBusy = false;
    }
  }

  private remember(v: PaymentView): void {
    // a fresh view restarts its countdown from the real time, not the last 250 ms tick
    this.now = Date.now();
    rememberView(this.views, v, CACHE_LIMIT);
  }

  private setActive(v: PaymentView): void {
    if (v.deadlineAtMs !== null) {
      const cd = this.countdowns.get(v.id);
      if (!cd) {
        // first deadline of this payment: its wait started when the payment was created
        this.countdowns.set(v.id, [v.deadlineAtMs, Math.min(v.createdAtMs, Date.now())]);
      } else if (cd[0] !== v.deadlineAtMs) {
        // a countdown restart: the new wait starts now
        this.countdowns.set(v.id, [v.deadlineAtMs, Date.now()]);
      }
    }
    this.active = v;
    const kind = resultKind(v);
    if (kind) {
      const key = `${v.id}:${kind}`;
      if (!this.sounded.has(key)) {
        this.sounded.add(key);
        playSound(kind === 'success' ? 'success' : 'failure');
        if (kind === 'success') this.closePaidLater(v.id);
      }
    }
  }

  /** "Paid" goes back to the keypad by itself after `[counter] paid_close_seconds` (0: on a key
   * only), unless the clerk is doing something else over it by then. */
  private closePaidLater(id: string): void {
    const seconds = this.boot?.counter?.paid_close_seconds ?? 0;
    window.clearTimeout(this.paidCloseTimer);
    this.paidCloseAtMs = null;
    if (seconds <= 0 || this.kiosk) return;
    this.paidCloseAtMs = Date.now() + seconds * 1000;
    this.paidCloseTimer = window.setTimeout(() => {
      const a = this.active;
      if (a?.id === id && resultKind(a) === 'success' && !this.covered) this.finishPayment();
    }, seconds * 1000);
  }

  /** Start of the countdown shown for the active payment (ms), for the progress bar. */
  countdownStart(v: PaymentView): number {
    const cd = this.countdowns.get(v.id);
    return cd && cd[0] === v.deadlineAtMs ? cd[1] : v.createdAtMs;
  }

  /** Opens the payment overlay for a view a command returned (or bootstrap's `active`). */
  private showPayment(v: PaymentView): void {
    const kept = mergeView(this.views.get(v.id), v);
    this.remember(kept);
    this.activeError = null;
    this.setActive(kept);
    if (kept.final) void this.refreshToday();
  }

  private addAlert(a: PaymentAlert): void {
    this.alerts = [...this.alerts.filter((x) => !(x.id === a.id && x.message === a.message)), a];
    playSound('failure');
    void this.refreshToday();
  }

  /** Dismissing is acknowledging: the core records it and stops showing the alert. */
  dismissAlert(index: number): void {
    const alert = this.alerts[index];
    this.alerts = this.alerts.filter((_, i) => i !== index);
    if (alert) {
      api.ackAlert(alert.id).catch((e) => this.showNotice(this.errorText(e)));
    }
  }

  showNotice(text: string): void {
    this.notice = text;
    window.clearTimeout(this.noticeTimer);
    this.noticeTimer = window.setTimeout(() => (this.notice = null), NOTICE_MS);
  }

  dismissNotice(): void {
    window.clearTimeout(this.noticeTimer);
    this.notice = null;
  }

  async refreshToday(): Promise<void> {
    // nobody signed in: the core would refuse (`signed_out`); read it once someone signs in.
    // The kiosk shows no list.
    if (this.signInShown || this.kiosk) return;
    if (this.todayInFlight) {
      this.todayAgain = true;
      return;
    }
    this.todayInFlight = true;
    try {
      do {
        this.todayAgain = false;
        try {
          const t = await api.today();
          this.today = t;
          this.todayError = false;
          // re-localized message of a final active payment (e.g. after a language switch)
          const a = this.active;
          if (a?.final) {
            const row = t.payments.find((p) => p.id === a.id);
            if (row?.final) this.setActive(row);
          }
        } catch {
          this.todayError = true;
        }
      } while (this.todayAgain);
    } finally {
      this.todayInFlight = false;
    }
  }

  // ---------------------------------------------------------------- amount entry

  press(key: AmountKey): void {
    // a charge's amount is the core's: the keypad is locked to it
    if (this.busy || this.scan || this.active || this.covered || this.openCharge) return;
    this.amount = editAmount(this.amount, key);
    this.amountError = null;
  }

  // ---------------------------------------------------------------- tender

  setChannel(id: string): void {
    if (this.tenderLocked || id === this.channelId) return;
    if (!this.boot?.channels.some((c) => c.id === id)) return;
    this.channelId = id;
    this.channelByCharge = false; // the clerk chose
    this.amountError = null; // it was about the other channel's attempt
    this.rememberTender();
  }

  /** F3: the next channel, wrapping round. */
  cycleChannel(): void {
    const channels = this.boot?.channels ?? [];
    if (channels.length < 2 || !this.channel) return;
    this.setChannel(nextChannel(channels, this.channel.id));
  }

  /** F4: the selected channel's next QR method (支付宝 → 微信 → 银联 …), wrapping round. */
  cycleMethod(): void {
    const methods = this.channel?.methods ?? [];
    if (methods.length < 2 || this.tenderLocked) return;
    const at = methods.findIndex((m) => m.code === this.method?.code);
    this.selectMethod(methods[(at + 1) % methods.length].code);
  }

  selectMethod(code: string): void {
    const ch = this.channel;
    if (this.tenderLocked || !ch || !ch.methods.some((m) => m.code === code)) return;
    if (this.method?.code === code) return;
    this.methodCodes = { ...this.methodCodes, [ch.id]: code };
    this.amountError = null;
    this.rememberTender();
  }

  /** The QR tenders of a channel (to name a payment's `wallet`). */
  methodsOf(channelId: string): TenderMethod[] {
    return this.boot?.channels.find((c) => c.id === channelId)?.methods ?? [];
  }

  private rememberTender(): void {
    saveTender(sessionStore(), { channel: this.channelId, methods: { ...this.methodCodes } });
  }

  /** The sign-in screen shows (never in kiosk mode: the core treats the kiosk as the operator). */
  get signInShown(): boolean {
    return this.people.screen && this.kiosk === null;
  }

  /** The main screen is covered: the sign-in screen, the PIN prompt, the manager area or a payment's detail. */
  private get covered(): boolean {
    return this.signInShown || this.approvals.prompt !== null || this.manager !== null || this.detail !== null;
  }

  private get canStart(): boolean {
    return (
      this.status === 'ready' &&
      !this.busy &&
      !this.scan &&
      !this.active &&
      !this.settings &&
      !this.covered &&
      !this.chargeBusy &&
      this.openCharge?.state !== 'cancelling' &&
      this.channel !== null
    );
  }

  /** What the keypad would arm now (see keypadArm.ts). */
  get keypadWant(): Want {
    // the kiosk arms its own scans; the overlay, a payment or a command under way own the arming
    if (this.status !== 'ready' || this.kiosk || this.scan || this.active || this.busy) return 'hands-off';
    const ch = this.channel;
    if (this.covered || this.settings || this.chargeBusy || !ch?.barcode) return null;
    const charge = this.openCharge;
    if (charge) return charge.state === 'cancelling' ? null : { channel: ch.id, amountText: '', charge: charge.id };
    return this.amount === '' ? null : { channel: ch.id, amountText: this.amount, charge: null };
  }

  async openScan(): Promise<void> {
    if (!this.canStart || !this.channel) return;
    if (!this.channel.barcode) {
      // Enter / F1 on a channel without payment codes (the button is hidden)
      this.showNotice(this.t('channelNoBarcode'));
      return;
    }
    const channel = this.channel.id;
    const charge = this.openCharge;
    this.busy = 'check';
    this.amountError = null;
    // a charge's amount comes from the charge: nothing typed is checked or sent
    const typed = charge ? '' : this.amount;
    try {
      let amountText: string;
      if (charge) {
        // the next payment code from any source pays the charge
        await this.keypadArm.exclusive(() => api.armScan(channel, '', charge.id));
        amountText = charge.amountText;
      } else {
        amountText = (await api.checkAmount(typed)).amountText;
        // from now on the next payment code from any source (wedge, serial, camera, typed) pays it
        await this.keypadArm.exclusive(() => api.armScan(channel, typed));
      }
      // a code from the serial scanner or the camera may already have started the payment
      if (this.active) return;
      this.capture.reset();
      this.preview = null;
      this.scan = { amountText, typed, manual: '', echo: '', busy: false, error: null };
    } catch (e) {
      this.amountError = this.errorText(e);
    } finally {
      this.busy = null;
      this.settleCharge();
    }
  }

  async startQr(): Promise<void> {
    if (!this.canStart || !this.channel) return;
    if (!this.channel.qr) {
      this.showNotice(this.t('channelNoQr'));
      return;
    }
    const channel = this.channel.id;
    const method = this.method?.code ?? null;
    const charge = this.openCharge;
    this.busy = 'check';
    this.amountError = null;
    const typed = this.amount;
    try {
      // the keypad armed this amount for a payment code: a QR sale takes it back first
      await this.keypadArm.release();
      let v: PaymentView;
      if (charge) {
        // the amount comes from the charge
        this.busy = 'qr';
        v = await api.startQr(channel, '', method, charge.id);
      } else {
        await api.checkAmount(typed);
        this.busy = 'qr';
        v = await api.startQr(channel, typed, method);
      }
      this.showPayment(v);
    } catch (e) {
      this.amountError = this.errorText(e);
    } finally {
      this.busy = null;
      this.settleCharge();
    }
  }

  // ---------------------------------------------------------------- scan overlay

  /** Closes the overlay without a payment (Esc, Back): the core stops waiting for a code. */
  closeScan(): void {
    if (!this.scan || this.scan.busy) return;
    this.scan = null;
    this.preview = null;
    this.capture.reset();
    this.keypadArm.exclusive(() => api.disarmScan()).catch((e) => this.showNotice(this.errorText(e)));
    this.settleCharge();
  }

  /** The manual field changed by itself (paste, on-screen keyboard). */
  manualInput(text: string): void {
    if (!this.scan) return;
    this.capture.setManual(text);
    this.scan.manual = text;
    this.scan.echo = '';
  }

  submitManual(): void {
    const text = this.scan?.manual.trim() ?? '';
    if (text !== '') void this.submitCode(text, 'manual');
  }

  /** A code scanned by the wedge or typed by the clerk in the scan overlay: the core decides. */
  async submitCode(code: string, source: OwnScanSource): Promise<void> {
    const s = this.scan;
    if (!s || s.busy || this.active) return;
    s.busy = true;
    s.error = null;
    let ev: ScanEvent;
    try {
      ev = await api.submitScan(code, source);
    } catch (e) {
      if (this.scan === s) {
        s.busy = false;
        s.error = this.errorText(e);
        s.manual = '';
        s.echo = '';
        this.capture.reset();
      }
      return;
    }
    if (this.scan === s) s.busy = false;
    // a code from the serial scanner or the camera paid while this one was on its way
    if (ev.outcome.kind === 'not_waiting' && this.scan === null && this.active) return;
    this.handleScanEvent(ev);
  }

  /** The wedge read a whole code outside the scan overlay (what it typed is already undone). */
  async passiveScan(code: string): Promise<void> {
    if (!this.readsScans) return;
    if (this.signInShown || this.approvals.prompt) {
      // a PIN is being typed: what was read is undone and goes nowhere
      this.showNotice(this.t('wedgeScanIgnored', { n: [...code].length, code: maskEcho(code) }));
      return;
    }
    if (this.settings) {
      // keys typed into the settings go nowhere: say what was read (a test of the scanner), no more
      this.showNotice(this.t('wedgeScanInSettings', { n: [...code].length, code: maskEcho(code) }));
      return;
    }
    if (this.status !== 'ready') return;
    // the amount on the keypad (what the wedge typed there is already undone) is what this code pays
    const want = this.keypadWant;
    try {
      const keypad = want && want !== 'hands-off' ? want : null;
      this.handleScanEvent(await (keypad ? api.submitScan(code, 'wedge', keypad) : api.submitScan(code, 'wedge')));
    } catch (e) {
      this.showNotice(this.errorText(e));
    }
  }

  /** A `scan` event: the UI's own scans (wedge, manual) came back as submit_scan's answer already;
   * in kiosk mode the kiosk follows them (`readsScans`). */
  onScanEvent(ev: ScanEvent): void {
    if (!this.readsScans || isOwnSource(ev.source)) return;
    this.handleScanEvent(ev);
  }

  /** What a scan became, from submit_scan's answer or a `scan` event of the serial scanner / camera. */
  handleScanEvent(ev: ScanEvent): void {
    const sound = scanSound(ev, this.scanners);
    if (sound) playSound(sound);
    const outcome = ev.outcome;
    switch (outcome.kind) {
      case 'charging':
        // the core disarmed itself: the payment is on its way
        if (this.scan) {
          this.scan = null;
          this.capture.reset();
        }
        this.preview = null;
        this.showPayment(outcome.payment);
        return;
      case 'rejected': {
        const s = this.scan;
        if (!s || this.active) {
          this.showNotice(ev.message);
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
        this.showNotice(ev.message || this.t('passiveScanNotice'));
        return;
      case 'duplicate':
        return;
      case 'receipt':
        this.openReceipt(outcome.paymentId, ev.message);
        return;
    }
  }

  /** A receipt's QR was scanned: its payment opens, ready for a refund when a manager is signed in
   * (or no one signs in, and the refund asks for the manager's PIN). Over a payment under way or a
   * scan, only the notice shows: nothing the clerk is doing is covered. */
  private openReceipt(paymentId: string, message: string): void {
    this.openPayment(paymentId);
    const d = this.detail;
    if (!d || d.id !== paymentId) {
      this.showNotice(message);
      return;
    }
    d.focusRefund = this.people.session?.role === 'manager' || !this.people.info.signInRequired;
  }

  // ---------------------------------------------------------------- scanner settings

  get canOpenSettings(): boolean {
    return this.status === 'ready' && !this.busy && !this.scan && !this.active && !this.settings && !this.covered;
  }

  /** Opens the settings screen and reads the settings, ports and cameras from the core. */
  async openSettings(): Promise<void> {
    if (!this.canOpenSettings) return;
    this.settings = { form: null, ports: [], cameras: [], busy: 'load', error: null, invalid: null };
    // read back: the state holds a (reactive) proxy of the object assigned
    const session = this.settings;
    const fallback = this.scanners;
    try {
      const v = await api.scannerSettings();
      if (this.settings !== session) return;
      this.takeScannerView(v);
      session.form = formFromScanners(v.settings, v.ports, v.cameras);
    } catch (e) {
      if (this.settings !== session) return;
      session.error = this.errorText(e);
      // still editable with the settings bootstrap sent (no port or camera list)
      if (fallback) session.form = formFromScanners(fallback);
    } finally {
      if (this.settings === session) session.busy = null;
    }
  }

  /** Looks for serial ports and cameras again; the form keeps what was typed. */
  async refreshSettings(): Promise<void> {
    const session = this.settings;
    if (!session || session.busy) return;
    session.busy = 'refresh';
    try {
      const v = await api.scannerSettings();
      if (this.settings !== session) return;
      this.applyScannerState({ serial: v.serial, camera: v.camera });
      session.ports = v.ports;
      session.cameras = v.cameras;
      session.form ??= formFromScanners(v.settings, v.ports, v.cameras);
      session.error = null;
    } catch (e) {
      if (this.settings === session) session.error = this.errorText(e);
    } finally {
      if (this.settings === session) session.busy = null;
    }
  }

  /** Checks the numbers are whole, asks for a manager's approval and sends the settings; the core
   * checks the approval and the ranges and saves. */
  async saveSettings(): Promise<void> {
    const session = this.settings;
    if (!session?.form || session.busy) return;
    const r = scannersFromForm(session.form);
    if (!r.ok) {
      session.invalid = r.field;
      session.error = this.t('settingsNotInteger', { field: this.t(FIELD_LABELS[r.field]) });
      return;
    }
    session.busy = 'save';
    session.error = null;
    session.invalid = null;
    try {
      const v = await this.withApproval('settings', (approval) => api.saveScannerSettings(approval, r.settings));
      if (!v) return; // the manager's prompt was cancelled: the form stays as typed
      this.applyScanners(v.settings);
      this.applyScannerState({ serial: v.serial, camera: v.camera });
      if (this.settings === session) this.settings = null;
    } catch (e) {
      // nothing was changed: keep the form as typed
      if (this.settings === session) session.error = this.errorText(e);
    } finally {
      if (this.settings === session) session.busy = null;
    }
  }

  closeSettings(): void {
    if (!this.settings || this.settings.busy === 'save') return;
    this.settings = null;
    this.settleCharge();
  }

  private takeScannerView(v: ScannerSettingsView): void {
    this.applyScanners(v.settings);
    this.applyScannerState({ serial: v.serial, camera: v.camera });
    if (this.settings) {
      this.settings.ports = v.ports;
      this.settings.cameras = v.cameras;
    }
  }

  // ---------------------------------------------------------------- people

  /** Someone signed in: the till starts from a clean screen and reads today's payments. */
  private signedIn(): void {
    this.amountError = null;
    this.dismissNotice();
    void this.refreshToday();
  }

  /** No one is signed in (sign-out, the idle lock, `signed_out`): everything closes for the sign-in screen. */
  private signedOut(): void {
    this.approvals.dismiss();
    this.detail = null;
    this.manager = null;
    this.settings = null;
    if (this.scan) {
      // the core stops waiting for a code (it may have already; nothing to tell the clerk)
      this.scan = null;
      this.preview = null;
      this.capture.reset();
      api.disarmScan().catch(() => undefined);
    }
  }

  // ---------------------------------------------------------------- manager area, payment detail

  get canOpenManager(): boolean {
    return this.canOpenSettings && (this.people.session !== null || !this.people.info.signInRequired);
  }

  /** The manager area (F10): open to everyone signed in; what is protected inside asks for a PIN. */
  openManager(tab: ManagerTab = 'reports'): void {
    if (!this.canOpenManager) return;
    const deps = { withApproval: this.withApproval, t: (k: MessageKey) => this.t(k), errorText: (e: unknown) => this.errorText(e) };
    const m = new ManagerArea(
      deps,
      (users) => (this.people.info = { ...this.people.info, users }),
      new PrinterSettings({ ...deps, t: (k, vars) => this.t(k, vars), showNotice: (text) => this.showNotice(text) }, this.printing),
    );
    this.manager = m;
    m.show(tab);
    void this.refreshToday();
  }

  closeManager(): void {
    if (this.detail || this.approvals.prompt) return;
    this.manager = null;
  }

  /** Opens a payment's detail (a row of the today list, the manager area, a report or a shift). */
  openPayment = (id: string): void => {
    if (this.status !== 'ready' || this.people.screen || this.approvals.prompt) return;
    if (this.active || this.scan || this.settings || this.busy) return;
    const d = new PaymentDetailState(id, {
      withApproval: this.withApproval,
      t: (k, vars) => this.t(k, vars),
      errorText: (e) => this.errorText(e),
      onChanged: () => {
        void this.refreshToday();
        void this.manager?.payments.reload();
      },
    });
    this.detail = d;
    void d.load();
  };

  closeDetail(): void {
    if (this.approvals.prompt || (this.detail?.busy && this.detail.busy !== 'load')) return;
    this.detail = null;
  }

  // ---------------------------------------------------------------- payment overlay

  /** Esc or Cancel on a payment under way: the first press asks ("press again to cancel"), a
   * second within CANCEL_CONFIRM_MS cancels; one stray key never drops a customer's payment. */
  requestCancel(): void {
    const a = this.active;
    if (!a || a.final || a.phase === 'cancelling' || a.phase === 'not_confirmed' || this.cancelBusy) return;
    const now = Date.now();
    if (this.cancelArmedUntil !== null && now < this.cancelArmedUntil) {
      this.cancelArmedUntil = null;
      void this.cancel();
      return;
    }
    this.now = now;
    this.cancelArmedUntil = now + CANCEL_CONFIRM_MS;
  }

  /** The clerk cancelled this payment on purpose (its end shows as cancelled, not failed). */
  cancelledOnPurpose(id: string): boolean {
    return this.cancelledByClerk.has(id);
  }

  async cancel(): Promise<void> {
    const a = this.active;
    if (!a || a.final || a.phase === 'cancelling' || a.phase === 'not_confirmed' || this.cancelBusy) return;
    this.cancelledByClerk.add(a.id);
    this.cancelArmedUntil = null;
    this.cancelBusy = true;
    this.activeError = null;
    try {
      const v = await api.cancelPayment(a.id);
      this.applyUpdate(v);
    } catch (e) {
      this.activeError = this.errorText(e);
    } finally {
      this.cancelBusy = false;
    }
  }

  /** Leaves a result screen. The amount is cleared after success and after "not confirmed" (so the
   * clerk does not charge the same sale again); after a failure it stays for another try. */
  finishPayment(): void {
    const a = this.active;
    if (!a) return;
    const kind = resultKind(a);
    if (!kind) return;
    if (kind === 'success' || kind === 'not_confirmed') this.amount = '';
    window.clearTimeout(this.paidCloseTimer);
    this.paidCloseAtMs = null;
    this.cancelledByClerk.delete(a.id);
    this.active = null;
    this.activeError = null;
    this.amountError = null;
    // a charge that ended with this payment goes now; one still open stays for another try
    this.settleCharge();
    void this.refreshToday();
  }

  // ---------------------------------------------------------------- keyboard (bubble phase)

  onKeydown = (e: KeyboardEvent): void => {
    if (this.status !== 'ready' || e.defaultPrevented || e.isComposing) return;
    if (this.kiosk) {
      // the kiosk screens take their own keys; no clerk shortcut (F1–F3, F9, F10, Enter, digits)
      // acts. The PIN prompt (leaving kiosk mode) still gets its keys.
      if (this.approvals.prompt) this.approvals.onKeydown(e);
      return;
    }
    // the sign-in screen and the PIN prompt take every key: nothing behind them acts
    if (this.people.screen) {
      this.people.onKeydown(e);
      return;
    }
    if (this.approvals.prompt) {
      this.approvals.onKeydown(e);
      return;
    }
    const key = e.key;
    if (this.active) {
      const kind = resultKind(this.active);
      const amountKey = kind === 'success' && !e.ctrlKey && !e.metaKey && !e.altKey ? amountKeyFromEvent(e) : null;
      if (kind && (key === 'Enter' || key === 'Escape')) {
        e.preventDefault();
        this.finishPayment();
      } else if (amountKey && amountKey !== 'back' && amountKey !== 'clear') {
        // the next sale's first digit closes "paid" and is typed
        e.preventDefault();
        this.finishPayment();
        this.press(amountKey);
      } else if (!kind && key === 'Escape') {
        e.preventDefault();
        this.requestCancel();
      }
      return;
    }
    if (this.scan) {
      if (key === 'Escape') {
        e.preventDefault();
        this.closeScan();
      }
      return;
    }
    if (this.printing.preview) {
      // the preview sits over the detail or the manager area: Esc closes it first
      if (key === 'Escape') {
        e.preventDefault();
        this.printing.closePreview();
      }
      return;
    }
    if (this.detail) {
      if (key === 'Escape') {
        e.preventDefault();
        this.closeDetail();
      }
      return;
    }
    if (this.settings) {
      // the settings' own fields take every other key
      if (key === 'Escape') {
        e.preventDefault();
        this.closeSettings();
      }
      return;
    }
    if (this.manager) {
      if (key === 'Escape') {
        e.preventDefault();
        this.closeManager();
      }
      return;
    }
    if (key === 'Escape') {
      this.amountError = null;
      this.dismissNotice();
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (key === 'F1' || key === 'F2') {
      e.preventDefault();
      void (key === 'F1' ? this.openScan() : this.startQr());
      return;
    }
    if (key === 'F3') {
      e.preventDefault();
      this.cycleChannel();
      return;
    }
    if (key === 'F4') {
      e.preventDefault();
      this.cycleMethod();
      return;
    }
    if (key === 'F9') {
      e.preventDefault();
      void this.openSettings();
      return;
    }
    if (key === 'F10') {
      e.preventDefault();
      this.openManager();
      return;
    }
    const target = e.target as Element | null;
    const tag = target?.tagName ?? '';
    if (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT') return;
    if (key === 'Enter') {
      // a button reached with Tab is activated by Enter as usual
      if (tag === 'BUTTON' || tag === 'A') return;
      e.preventDefault();
      // a charge's preferred tender: the clerk just presses Enter
      void (this.enterAction === 'qr' ? this.startQr() : this.openScan());
      return;
    }
    const amountKey = amountKeyFromEvent(e);
    if (amountKey) {
      e.preventDefault();
      this.press(amountKey);
    }
  };
}

export const app = new AppState();
