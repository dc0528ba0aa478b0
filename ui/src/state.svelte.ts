// The clerk window's state (Svelte 5 runes): it composes the flows, each in a module of its own
// (amount entry, tender, charge, scan, QR payment, the payment on screen, scanner settings, today's
// list, alerts, notice, keys), starts up, follows the core's events and opens the manager's screens.
// Everything about money and payment state comes from the core: the flows only store what the core
// sent and forward what the clerk did. The screens read the flows' state here, flat.

import {
  api,
  isCoreError,
  onSignedOut,
  subscribe,
  type Bootstrap,
  type LedgerCheckView,
  type Lang,
} from './api';
import type { KioskInfo } from './charges';
import { enterAction } from './chargeFlow';
import { translate, type MessageKey } from './i18n';
import { resultKind } from './payment';
import { Approvals } from './approval.svelte';
import { IdleTimer, type IdleConfig } from './idle';
import { ManagerArea, type ManagerTab } from './manager.svelte';
import { PaymentDetailState } from './paymentDetail.svelte';
import { People } from './people.svelte';
import { PrinterSettings, PrintQueue } from './printing.svelte';
import type { KioskEvents, KioskHost } from './kiosk.svelte';
import { Notice } from './notice.svelte';
import { Alerts } from './alerts.svelte';
import { TodayList } from './today.svelte';
import { TenderSelection } from './tender.svelte';
import { ChargeFollow } from './chargeFlow.svelte';
import { ActivePayment } from './payment.svelte';
import { AmountEntry } from './amountEntry.svelte';
import { ScanFlow } from './scan.svelte';
import { ScannerSettings } from './scannerSettings.svelte';
import { startQrPayment } from './qrPayment';
import { counterKeydown } from './counterKeys';

const TODAY_REFRESH_MS = 30_000;

export class AppState {
  lang = $state<Lang>('zh');
  status = $state<'starting' | 'ready' | 'unreachable'>('starting');
  fatalDetail = $state<string | null>(null);
  boot = $state<Bootstrap | null>(null);
  /** a command started from the keypad (the amount's check, a QR) or the language switch */
  busy = $state<null | 'check' | 'qr' | 'lang'>(null);
  now = $state(Date.now());
  /** the ledger's start-up integrity check: payments wait while `checking` */
  ledgerCheck = $state<LedgerCheckView['state']>('intact');
  /** the manager area, when open */
  manager = $state<ManagerArea | null>(null);
  /** the payment detail, when open (over the main screen or the manager area) */
  detail = $state<PaymentDetailState | null>(null);

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

  // ---------------------------------------------------------------- the flows

  readonly notices: Notice = new Notice();
  readonly alertList: Alerts = new Alerts({
    arrived: () => void this.refreshToday(),
    ackFailed: (e) => this.showNotice(this.errorText(e)),
  });
  readonly todayList: TodayList = new TodayList({
    // nobody signed in: the core would refuse (`signed_out`); read it once someone signs in.
    // The kiosk shows no list.
    skip: () => this.signInShown || this.kiosk !== null,
    read: (t) => this.payment.takeToday(t),
  });
  readonly tender: TenderSelection = new TenderSelection({
    channels: () => this.boot?.channels ?? [],
    defaultChannel: () => this.boot?.defaultChannel ?? '',
    locked: () => this.tenderLocked,
    changed: () => (this.amountError = null), // it was about the other tender's attempt
  });
  readonly chargeFlow: ChargeFollow = new ChargeFollow({
    kiosk: () => this.kiosk !== null,
    paymentShown: () => this.active !== null,
    tenderLocked: () => this.tenderLocked,
    channels: () => this.boot?.channels ?? [],
    preferChannel: (id) => {
      if (this.tender.preferForCharge(id)) this.amountError = null;
    },
    restoreChannel: () => this.tender.backFromCharge(),
    say: (text) => (this.amountError = text),
    errorText: (e) => this.errorText(e),
  });
  readonly payment: ActivePayment = new ActivePayment({
    tick: (nowMs) => (this.now = nowMs),
    ended: () => void this.refreshToday(),
    updated: (id) => {
      // the detail on screen shows this payment: read its history and refunds again
      if (this.detail?.id === id && this.detail.busy === null) void this.detail.load();
    },
    paidCloseSeconds: () => this.boot?.counter?.paid_close_seconds ?? 0,
    kiosk: () => this.kiosk !== null,
    covered: () => this.covered,
    finished: (kind) => {
      this.entry.afterPayment(kind);
      // a charge that ended with this payment goes now; one still open stays for another try
      this.chargeFlow.settle();
      void this.refreshToday();
    },
    errorText: (e) => this.errorText(e),
  });
  readonly entry: AmountEntry = new AmountEntry({
    locked: () => this.busy !== null || this.scan !== null || this.active !== null || this.covered,
    // the kiosk arms its own scans; the overlay, a payment or a command under way own the arming
    handsOff: () =>
      this.status !== 'ready' || this.kiosk !== null || this.scan !== null || this.active !== null || this.busy !== null,
    blocked: () => this.covered || this.settings !== null || this.chargeBusy,
    channel: () => this.channel,
    charge: () => this.openCharge,
    scanners: () => this.scanners,
  });
  readonly scanning: ScanFlow = new ScanFlow({
    t: (k, vars) => this.t(k, vars),
    errorText: (e) => this.errorText(e),
    showNotice: (text) => this.showNotice(text),
    readsScans: () => this.readsScans,
    ready: () => this.status === 'ready',
    paymentShown: () => this.active !== null,
    showPayment: (v) => this.payment.show(v),
    pinTyped: () => this.signInShown || this.approvals.prompt !== null,
    settingsOpen: () => this.settings !== null,
    keypadWant: () => this.keypadWant,
    keypadArm: this.entry.arm,
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
    openReceipt: (paymentId, message) => this.openReceipt(paymentId, message),
    closed: () => this.chargeFlow.settle(),
  });
  readonly scannerSettings: ScannerSettings = new ScannerSettings({
    t: (k, vars) => this.t(k, vars),
    errorText: (e) => this.errorText(e),
    withApproval: this.withApproval,
    canOpen: () => this.canOpenSettings,
    scanners: () => this.scanners,
    took: (v) => this.scanning.takeView(v),
    tookState: (st) => this.scanning.takeState(st),
    closed: () => this.chargeFlow.settle(),
  });

  // ---------------------------------------------------------------- the flows' state, flat for the screens

  get amount() { return this.entry.amount; }
  set amount(v) { this.entry.amount = v; }
  get amountError() { return this.entry.error; }
  set amountError(v) { this.entry.error = v; }
  get amountShown() { return this.entry.shown; }
  get keypadArmed() { return this.entry.armed; }
  /** What the keypad would arm now (see keypadArm.ts). */
  get keypadWant() { return this.entry.want; }
  get keypadWantKey() { return this.entry.wantKey; }
  get keypadArmDelayMs() { return this.entry.armDelayMs; }
  readonly keypadArm = this.entry.arm;
  readonly press = this.entry.press;

  get channelId() { return this.tender.channelId; }
  set channelId(v) { this.tender.channelId = v; }
  get methodCodes() { return this.tender.methodCodes; }
  set methodCodes(v) { this.tender.methodCodes = v; }
  get channel() { return this.tender.channel; }
  get method() { return this.tender.method; }
  get methodPicker() { return this.tender.methodPicker; }
  get tenderBar() { return this.tender.tenderBar; }
  readonly setChannel = this.tender.setChannel;
  readonly selectMethod = this.tender.selectMethod;
  readonly methodsOf = this.tender.methodsOf;

  get charge() { return this.chargeFlow.charge; }
  set charge(v) { this.chargeFlow.charge = v; }
  get chargeBusy() { return this.chargeFlow.busy; }
  get openCharge() { return this.chargeFlow.open; }
  readonly applyCharge = this.chargeFlow.apply;
  readonly cancelCharge = this.chargeFlow.cancel;

  get active() { return this.payment.view; }
  set active(v) { this.payment.view = v; }
  get activeError() { return this.payment.error; }
  get cancelBusy() { return this.payment.cancelBusy; }
  get cancelArmedUntil() { return this.payment.cancelArmedUntil; }
  set cancelArmedUntil(v) { this.payment.cancelArmedUntil = v; }
  get paidCloseAtMs() { return this.payment.paidCloseAtMs; }
  readonly applyUpdate = this.payment.update;
  readonly requestCancel = this.payment.requestCancel;
  readonly cancelledOnPurpose = this.payment.cancelledOnPurpose;
  readonly finishPayment = this.payment.finish;
  readonly countdownStart = this.payment.countdownStart;

  get scan() { return this.scanning.session; }
  set scan(v) { this.scanning.session = v; }
  get preview() { return this.scanning.preview; }
  set preview(v) { this.scanning.preview = v; }
  get scanners() { return this.scanning.scanners; }
  get scannerState() { return this.scanning.scannerState; }
  get scannerPill() { return this.scanning.pill; }
  readonly capture = this.scanning.capture;
  readonly closeScan = this.scanning.close;
  readonly manualInput = this.scanning.manualInput;
  readonly submitManual = this.scanning.submitManual;
  readonly submitCode = this.scanning.submitCode;
  readonly passiveScan = this.scanning.passiveScan;
  readonly handleScanEvent = this.scanning.handleScanEvent;

  get settings() { return this.scannerSettings.session; }
  set settings(v) { this.scannerSettings.session = v; }
  readonly openSettings = this.scannerSettings.open;
  readonly refreshSettings = this.scannerSettings.refresh;
  readonly saveSettings = this.scannerSettings.save;
  readonly closeSettings = this.scannerSettings.close;

  get today() { return this.todayList.today; }
  set today(v) { this.todayList.today = v; }
  get todayError() { return this.todayList.error; }
  readonly refreshToday = this.todayList.refresh;

  get alerts() { return this.alertList.list; }
  readonly dismissAlert = this.alertList.dismiss;

  get notice() { return this.notices.text; }
  readonly showNotice = this.notices.show;
  readonly dismissNotice = this.notices.dismiss;

  // ---------------------------------------------------------------- what the screens derive

  /** kiosk mode: only the kiosk screens show (no header, sign-in, settings, manager area, idle lock) */
  kiosk: KioskInfo | null = $derived(this.boot?.kiosk ?? null);
  /**
   * The clerk window reads scans: its wedge capture, and the serial scanner's and camera's `scan`
   * events. The one rule: never in kiosk mode, where the kiosk reads its own (and the clerk's
   * notices and payment overlay must not show to the customer).
   */
  readsScans: boolean = $derived(this.kiosk === null);
  /** the clerk cannot change the tender now (a check, a payment, the scan overlay or the settings are under way) */
  tenderLocked: boolean = $derived(
    this.busy !== null || this.scan !== null || this.active !== null || this.settings !== null,
  );
  /** a payment, the scan overlay or an amount check is under way: the idle lock waits */
  private idleBusy: boolean = $derived(
    this.busy !== null || this.scan !== null || (this.active !== null && resultKind(this.active) === null),
  );
  /** what Enter starts on the selected channel: the scan, or the QR a charge prefers */
  enterAction: 'scan' | 'qr' = $derived(enterAction(this.channel, this.chargeFlow.preferredTender));
  /** what the idle lock runs on: signing in is required, someone is signed in, nothing under way
   * (never in kiosk mode: the kiosk resets itself) */
  idleConfig: IdleConfig = $derived({
    enabled: this.kiosk === null && this.people.info.signInRequired && this.people.session !== null,
    busy: this.idleBusy,
    timeoutMs: this.people.info.idleLockMs,
  });

  private unlisten: (() => void) | null = null;
  private timers: number[] = [];
  /** who hears the core's events through the app's one subscription (the kiosk) */
  private followers = new Set<KioskEvents>();

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
          onUpdate: (v) => {
            this.applyUpdate(v);
            for (const f of this.followers) f.onUpdate(v);
          },
          onAlert: (a) => this.alertList.add(a),
          onScan: (ev) => {
            this.scanning.onScanEvent(ev);
            for (const f of this.followers) f.onScan(ev);
          },
          onScannerState: (st) => this.scanning.takeState(st),
          onCameraPreview: (p) => {
            this.scanning.takePreview(p);
            for (const f of this.followers) f.onCameraPreview(p);
          },
          onCharge: (c) => {
            this.applyCharge(c);
            for (const f of this.followers) f.onCharge(c);
          },
          onPrintJobs: (jobs) => this.printing.take(jobs),
          onLedgerCheck: (c) => this.applyLedgerCheck(c),
        });
      }
      const b = await api.bootstrap();
      this.applyBoot(b);
      this.status = 'ready';
      if (b.active) this.payment.show(b.active);
      this.chargeFlow.settle();
      if (!this.signInShown) void this.refreshToday();
    } catch (e) {
      this.status = 'unreachable';
      this.fatalDetail = isCoreError(e) ? e.message : null;
    }
  }

  /** The kiosk follows the core's events through this subscription (one per event, not two);
   * returns the end of following. */
  follow(events: KioskEvents): () => void {
    this.followers.add(events);
    return () => this.followers.delete(events);
  }

  private applyBoot(b: Bootstrap): void {
    this.boot = b;
    this.alertList.takeBoot(b.alerts ?? []);
    this.setLang(b.lang);
    this.tender.takeChannels(b.channels, b.defaultChannel);
    if (b.scanners) this.scanning.takeScanners(b.scanners);
    if (b.scannerState) this.scanning.takeState(b.scannerState);
    this.people.apply(b.people);
    this.chargeFlow.takeBoot(b.charge);
    if (b.ledgerCheck) this.applyLedgerCheck(b.ledgerCheck);
    this.printing.printer = b.printer ?? false;
    this.printing.take(b.printJobs ?? []);
  }

  private setLang(lang: Lang): void {
    this.lang = lang;
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
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
      this.scanning.clear();
      this.payment.drop();
      this.amountError = null;
    }
    this.applyBoot(b);
    if (b.active) {
      if (this.active?.id === b.active.id || leftKiosk || !this.active) this.payment.show(b.active);
      else this.applyUpdate(b.active);
    }
    this.chargeFlow.settle();
    void this.refreshToday();
  }

  async toggleLanguage(): Promise<void> {
    const next: Lang = this.lang === 'zh' ? 'en' : 'zh';
    if (this.status !== 'ready') {
      this.setLang(next);
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
      this.chargeFlow.settle();
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

  // ---------------------------------------------------------------- starting a payment

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

  /** F1 (or Enter): the scan overlay, armed for the amount on screen or the open charge. */
  openScan = async (): Promise<void> => {
    const channel = this.channel;
    if (!this.canStart || !channel) return;
    if (!channel.barcode) {
      // Enter / F1 on a channel without payment codes (the button is hidden)
      this.showNotice(this.t('channelNoBarcode'));
      return;
    }
    const charge = this.openCharge;
    const amount = this.amount;
    await this.starting(() => this.scanning.open(channel.id, charge, amount));
  };

  /** F2 (or Enter for a charge that prefers it): a QR payment of the amount or the open charge. */
  startQr = async (): Promise<void> => {
    const channel = this.channel;
    if (!this.canStart || !channel) return;
    if (!channel.qr) {
      this.showNotice(this.t('channelNoQr'));
      return;
    }
    const start = {
      channel: channel.id,
      method: this.method?.code ?? null,
      charge: this.openCharge?.id ?? null,
      typed: this.amount,
    };
    await this.starting(async () => {
      const v = await startQrPayment(start, this.keypadArm, () => (this.busy = 'qr'));
      this.payment.show(v);
    });
  };

  /** A start checks the amount first; what goes wrong is said under the amount. */
  private async starting(run: () => Promise<void>): Promise<void> {
    this.busy = 'check';
    this.amountError = null;
    try {
      await run();
    } catch (e) {
      this.amountError = this.errorText(e);
    } finally {
      this.busy = null;
      this.chargeFlow.settle();
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
      this.scanning.clear();
      api.disarmScan().catch(() => undefined);
    }
  }

  // ---------------------------------------------------------------- scanner settings, manager area, payment detail

  get canOpenSettings(): boolean {
    return this.status === 'ready' && !this.busy && !this.scan && !this.active && !this.settings && !this.covered;
  }

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

  // ---------------------------------------------------------------- keyboard (bubble phase)

  onKeydown = (e: KeyboardEvent): void => counterKeydown(this, e);
}

export const app = new AppState();

/** The kiosk on the real application: it hears the core's events through the app's subscription. */
export function kioskHost(app: AppState): KioskHost {
  return {
    lang: () => app.lang,
    boot: () => app.boot,
    charge: () => app.charge,
    scanners: () => app.scanners,
    follow: (events) => app.follow(events),
    withApproval: app.withApproval,
    promptOpen: () => app.approvals.prompt !== null,
    snapshot: () => {
      const p = app.approvals.prompt;
      const pin = p?.pin;
      return () => {
        if (p && pin !== undefined && app.approvals.prompt === p) p.pin = pin;
      };
    },
    toggleLanguage: () => app.toggleLanguage(),
    left: (b) => app.applyBootstrap(b),
  };
}
