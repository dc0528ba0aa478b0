// The kiosk's state (Svelte 5 runes) and what its screens call (docs/ui-contract.md, "Kiosk
// mode"). The decisions are kiosk.ts's pure functions; this file talks to the core, follows its
// events and runs the clocks (idle reset, the paid screen's return, the long press that leaves).
// Money is never computed: the basket's total is `kiosk_quote`'s text, amounts are the core's.

import {
  api,
  isCoreError,
  type Bootstrap,
  type CameraPreview,
  type CoreEvents,
  type Lang,
  type OwnScanSource,
  type PaymentView,
  type ScanEvent,
  type Scanners,
  type WithApproval,
} from './api';
import type { ChargeView, KioskInfo, Tender } from './charges';
import {
  addItem,
  armed,
  attemptChannel,
  attemptStarted,
  autoTender,
  backToChoice,
  basketCount,
  basketItems,
  basketKey,
  canCancel,
  cancelFailed,
  cancelRequested,
  idleEligible,
  idleStatus,
  kioskScreen,
  kioskState,
  offeredTenders,
  onCharge,
  onPayment,
  paidSecondsLeft,
  removeItem,
  scanRejected,
  startFailed,
  tenderChosen,
  type Basket,
  type KioskModel,
  type KioskScreen,
  type KioskStateId,
} from './kiosk';
import { kt, type KioskKey } from './kioskI18n';
import { rememberView, secondsLeft, showsCountdown } from './payment';
import { isOwnSource, scanSound, wedgeConfig } from './scanners';
import { playSound } from './sounds';
import { WedgeCapture } from './wedgeCapture';

/** Pressing the hidden top-left corner this long opens the manager's PIN prompt. */
export const EXIT_HOLD_MS = 3_000;
const TICK_MS = 250;
const VIEW_CACHE = 50;

/** The core's events the kiosk follows. */
export type KioskEvents = Pick<CoreEvents, 'onUpdate' | 'onCharge' | 'onScan' | 'onCameraPreview'>;

/** What the kiosk needs of the application around it (the clerk window's AppState, or a test's). */
export interface KioskHost {
  lang(): Lang;
  boot(): Bootstrap | null;
  /** the charge the app already follows (it subscribed before the kiosk mounted), if any */
  charge(): ChargeView | null;
  scanners(): Scanners | null;
  /** the core's events, heard through the app's one subscription; returns the end of following */
  follow(events: KioskEvents): () => void;
  /** the manager's PIN prompt (approval.svelte.ts) */
  withApproval: WithApproval;
  promptOpen(): boolean;
  /** what a passive wedge scan may have typed into (the PIN prompt's PIN): returns its restore */
  snapshot(): () => void;
  /** switches the language through the core (`set_language`); `boot()` then has the new texts */
  toggleLanguage(): Promise<void>;
  /** `leave_kiosk`'s answer: the app shows the clerk window */
  left(b: Bootstrap): void;
}

/** Holding a press for `ms` fires once; letting go earlier does nothing. */
export class LongPress {
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly ms: number,
    private readonly fire: () => void,
  ) {}

  start(): void {
    this.cancel();
    this.timer = setTimeout(() => {
      this.timer = null;
      this.fire();
    }, this.ms);
  }

  cancel(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}

interface QuoteShown {
  /** the basket it is for (basketKey) */
  key: string;
  amountText: string;
}

export class KioskState {
  /** the application around the kiosk */
  readonly host: KioskHost;
  /** the charge on screen and where its payment is; null: the start screen */
  model = $state.raw<KioskModel>(null);
  basket = $state.raw<Basket>({});
  /** the core's total of the basket (`kiosk_quote`) */
  quote = $state.raw<QuoteShown | null>(null);
  /** `kiosk_quote` refused the basket (e.g. over the ceiling): the core's message */
  quoteError = $state<string | null>(null);
  quoting = $state(false);
  /** `kiosk_order` on its way */
  ordering = $state(false);
  /** a command of the pay screen on its way (start, cancel) */
  busy = $state(false);
  /** the start screen's message (an order refused), or why leaving failed */
  notice = $state<string | null>(null);
  now = $state(Date.now());
  /** seconds left of the idle count while "still there?" shows, else null */
  idleWarning = $state<number | null>(null);
  /** a wedge scan being read while armed (masked) */
  echo = $state('');
  /** the latest camera frame while armed */
  preview = $state.raw<CameraPreview | null>(null);
  /** a submitted code is with the core */
  scanBusy = $state(false);
  /** `leave_kiosk` succeeded: the clerk window takes over */
  leaving = $state(false);

  info: KioskInfo | null = $derived.by(() => this.host.boot()?.kiosk ?? null);
  lang: Lang = $derived.by(() => this.host.lang());
  screen: KioskScreen = $derived(kioskScreen(this.model));
  state: KioskStateId | null = $derived(this.model ? kioskState(this.model) : null);
  /** what the kiosk pays through for the charge on screen */
  route = $derived.by(() => {
    const info = this.info;
    if (!info) return null;
    return attemptChannel(info, this.host.boot()?.channels ?? [], this.model?.charge ?? null);
  });
  /** the tenders offered for the charge on screen */
  tenders: Tender[] = $derived.by(() => {
    const info = this.info;
    const route = this.route;
    if (!info || !route) return [];
    const channel = this.host.boot()?.channels.find((c) => c.id === route.channel) ?? null;
    return offeredTenders(info, channel, this.model?.charge.tender ?? null);
  });
  items = $derived(basketItems(this.info?.products ?? [], this.basket));
  count: number = $derived(basketCount(this.info?.products ?? [], this.basket));
  /** the total shown belongs to the basket on screen */
  quoteFresh: boolean = $derived(this.quote !== null && this.quote.key === basketKey(this.items));
  canPay: boolean = $derived(this.count > 0 && this.quoteFresh && !this.quoting && !this.ordering && this.model === null);
  cancellable: boolean = $derived(!this.busy && canCancel(this.model));
  /** whole seconds left of the payment's wait (QR, confirming), or null */
  countdown: number | null = $derived.by(() => {
    const v = this.model?.step === 'paying' ? this.model.payment : null;
    if (!v || v.final || v.deadlineAtMs === null || !showsCountdown(v)) return null;
    return secondsLeft(v.deadlineAtMs, this.now);
  });
  /** seconds until the paid screen returns to the start */
  paidLeft: number | null = $derived(
    this.model?.step === 'paid' && this.model.paidAtMs !== null && this.info
      ? paidSecondsLeft(this.model.paidAtMs, this.now, this.info.paidResetSeconds)
      : null,
  );

  /** the wedge scanner while armed: its scans are submitted like the clerk's scan overlay does */
  readonly capture = new WedgeCapture({
    isScanMode: () => this.model?.step === 'armed' && !this.host.promptOpen(),
    onEntry: (v) => (this.echo = v.echo),
    onScan: (code) => void this.submitCode(code, 'wedge'),
    onManualSubmit: (text) => void this.submitCode(text, 'manual'),
    snapshot: () => this.host.snapshot(),
    // not armed: a code read is undone and goes nowhere (the customer has nothing to pay)
    onPassiveScan: () => undefined,
  });
  readonly exitPress = new LongPress(EXIT_HOLD_MS, () => void this.leave());

  /** latest view of each payment seen, for a charge that names its attempt before the view arrives */
  private views = new Map<string, PaymentView>();
  /** latest view of each unfinished charge seen: an API charge that arrives while another is on screen */
  private charges = new Map<string, ChargeView>();
  /** charges the kiosk gave up (cancel, idle reset): never taken up again */
  private abandoned = new Set<string>();
  private lastActivityMs = Date.now();
  private eligibleSinceMs: number | null = null;
  private quoteSeq = 0;

  constructor(host: KioskHost) {
    this.host = host;
  }

  t = (key: KioskKey, vars?: Record<string, string | number>): string => kt(this.lang, key, vars);

  private errorText(e: unknown): string {
    return isCoreError(e) ? e.message : this.t('lostContact');
  }

  // ---------------------------------------------------------------- start-up

  /** Follows the core's events, installs the keys and the clocks; returns the teardown. */
  mount(target: Pick<Window, 'addEventListener' | 'removeEventListener'> = window): () => void {
    const onKey = (e: Event) => this.onKeydown(e as KeyboardEvent);
    const onTouch = () => this.activity();
    target.addEventListener('keydown', onKey, { capture: true });
    target.addEventListener('pointerdown', onTouch, { capture: true, passive: true });
    target.addEventListener('touchstart', onTouch, { capture: true, passive: true });
    const timer = setInterval(() => this.tick(Date.now()), TICK_MS);
    // what the app knows already: the bootstrap, and the charge it followed since
    const b = this.host.boot();
    if (b) this.takeBoot(b);
    const followed = this.host.charge();
    if (followed) this.handleCharge(followed);
    const unfollow = this.host.follow({
      onUpdate: (v) => this.handlePayment(v),
      onCharge: (c) => this.handleCharge(c),
      onScan: (ev) => this.onScanEvent(ev),
      onCameraPreview: (p) => {
        if (this.model?.step === 'armed') this.preview = p;
      },
    });
    return () => {
      unfollow();
      clearInterval(timer);
      target.removeEventListener('keydown', onKey, { capture: true });
      target.removeEventListener('pointerdown', onTouch, { capture: true });
      target.removeEventListener('touchstart', onTouch, { capture: true });
      this.exitPress.cancel();
    };
  }

  /** A bootstrap (start, language switch): its payment and charge, the wedge thresholds. */
  takeBoot(b: Bootstrap): void {
    if (b.scanners) this.syncScanners(b.scanners);
    if (b.active) this.handlePayment(b.active);
    if (b.charge) this.handleCharge(b.charge);
  }

  /** `[scanners]` changed (bootstrap, language switch): the kiosk's wedge takes the thresholds (the
   * clerk window's capture is off in kiosk mode: AppState.readsScans). */
  syncScanners(s: Scanners): void {
    this.capture.sync(wedgeConfig(s));
  }

  // ---------------------------------------------------------------- the core's reports

  handleCharge(c: ChargeView): void {
    if (c.final) this.charges.delete(c.id);
    else this.charges.set(c.id, c);
    this.setModel(onCharge(this.model, c, Date.now(), (id) => this.views.get(id), this.abandoned));
  }

  handlePayment(v: PaymentView): void {
    this.remember(v);
    this.setModel(onPayment(this.model, v, Date.now()));
  }

  private remember(v: PaymentView): void {
    rememberView(this.views, v, VIEW_CACHE);
  }

  /** Every change of the model goes through here: sounds, the armed scanner, the next charge, the
   * automatic tender. */
  private setModel(next: KioskModel): void {
    const prev = this.model;
    if (next === prev) return;
    this.model = next;
    this.now = Date.now();
    if (prev?.step === 'armed' && next?.step !== 'armed') {
      this.capture.reset();
      this.echo = '';
      this.preview = null;
    }
    if (next?.step === 'paid' && prev?.step !== 'paid') {
      playSound('success');
      this.clearBasket(); // the order is paid
    }
    if (next?.step === 'failed' && prev?.step !== 'failed') playSound('failure');
    if (!next) {
      this.toStart();
      // an API charge that came while this one was on screen
      for (const c of this.charges.values()) {
        if (c.id !== prev?.charge.id && !this.abandoned.has(c.id) && !c.final) {
          this.setModel(onCharge(null, c, Date.now(), (id) => this.views.get(id), this.abandoned));
          return;
        }
      }
      return;
    }
    const newChoice = next.step === 'choose' && (prev?.step !== 'choose' || prev.charge.id !== next.charge.id);
    if (newChoice) {
      this.lastActivityMs = Date.now();
      const only = autoTender(this.tenders);
      if (only) void this.choose(only);
    }
  }

  private toStart(): void {
    this.clearBasket();
    this.notice = null;
    this.idleWarning = null;
    this.capture.reset();
    this.echo = '';
    this.preview = null;
    this.lastActivityMs = Date.now();
  }

  private clearBasket(): void {
    this.basket = {};
    this.quote = null;
    this.quoteError = null;
    this.quoting = false;
    this.quoteSeq++;
  }

  // ---------------------------------------------------------------- start screen

  add(id: string): void {
    if (this.model || this.ordering) return;
    this.basket = addItem(this.basket, id);
    void this.requote();
  }

  remove(id: string): void {
    if (this.model || this.ordering) return;
    this.basket = removeItem(this.basket, id);
    void this.requote();
  }

  /** Asks the core for the basket's total; only the answer for the latest basket is shown. */
  async requote(): Promise<void> {
    const seq = ++this.quoteSeq;
    const items = this.items;
    this.notice = null;
    if (items.length === 0) {
      this.quote = null;
      this.quoteError = null;
      this.quoting = false;
      return;
    }
    this.quoting = true;
    try {
      const q = await api.kioskQuote(items);
      if (seq !== this.quoteSeq) return;
      this.quote = { key: basketKey(items), amountText: q.amountText };
      this.quoteError = null;
    } catch (e) {
      if (seq !== this.quoteSeq) return;
      this.quote = null;
      this.quoteError = this.errorText(e);
    } finally {
      if (seq === this.quoteSeq) this.quoting = false;
    }
  }

  /** "去付款 Pay": the core makes a charge of the basket; the pay screen shows it. */
  async order(): Promise<void> {
    if (!this.canPay) return;
    this.ordering = true;
    this.notice = null;
    try {
      const c = await api.kioskOrder(this.items);
      this.handleCharge(c);
    } catch (e) {
      this.notice = this.errorText(e);
    } finally {
      this.ordering = false;
    }
  }

  // ---------------------------------------------------------------- pay screen

  /** The customer picked a tender (or it was the only one): a QR to scan, or the scanner armed. */
  async choose(tender: Tender): Promise<void> {
    const m = this.model;
    const route = this.route;
    if (!m || !route || this.busy || !this.tenders.includes(tender)) return;
    const next = tenderChosen(m, tender);
    if (next === m) return;
    this.setModel(next);
    const chargeId = m.charge.id;
    const mine = () => this.model?.charge.id === chargeId;
    try {
      if (tender === 'qr') {
        const v = await api.startQr(route.channel, '', route.method, chargeId);
        this.remember(v);
        if (mine()) this.setModel(attemptStarted(this.model, v, Date.now()));
      } else {
        await api.armScan(route.channel, '', chargeId);
        if (mine()) {
          this.capture.reset();
          this.setModel(armed(this.model));
        }
      }
    } catch (e) {
      if (mine()) this.setModel(startFailed(this.model, this.errorText(e)));
    }
  }

  /** Armed, with more than one tender: back to the choice (the scanner stops waiting). */
  otherTender(): void {
    const m = this.model;
    if (!m || m.step !== 'armed' || this.tenders.length < 2) return;
    api.disarmScan().catch(() => undefined);
    this.setModel(backToChoice(m));
  }

  /** "再试一次 Try again": a new attempt for the same charge (the only tender at once, else the choice). */
  retry(): void {
    const m = this.model;
    if (!m || m.step !== 'failed' || this.busy) return;
    this.setModel(backToChoice(m));
  }

  /** "取消 Cancel": the attempt is cancelled (`cancel_payment`), then the charge (`cancel_charge`). */
  async cancel(): Promise<void> {
    const m = this.model;
    if (!m || !this.cancellable) return;
    const wasArmed = m.step === 'armed';
    const attempt = m.step === 'paying' && m.payment && !m.payment.final ? m.payment.id : null;
    this.setModel(cancelRequested(m));
    this.abandoned.add(m.charge.id);
    this.busy = true;
    try {
      if (wasArmed) await api.disarmScan().catch(() => null);
      if (attempt) {
        try {
          this.handlePayment(await api.cancelPayment(attempt));
        } catch {
          // the charge's cancel closes the attempt too
        }
      }
      this.handleCharge(await api.cancelCharge(m.charge.id));
    } catch (e) {
      this.abandoned.delete(m.charge.id);
      if (this.model?.charge.id === m.charge.id) this.setModel(cancelFailed(this.model, this.errorText(e)));
    } finally {
      this.busy = false;
    }
  }

  /** The paid screen's "完成 Done", or its time is up: back to an empty start screen. */
  finish(): void {
    if (this.model?.step === 'paid') this.setModel(null);
  }

  // ---------------------------------------------------------------- scans

  /** A code the wedge read (or typed and Enter) while armed: the core decides. */
  async submitCode(code: string, source: OwnScanSource): Promise<void> {
    if (this.model?.step !== 'armed' || this.scanBusy) return;
    this.scanBusy = true;
    let ev: ScanEvent;
    try {
      ev = await api.submitScan(code, source);
    } catch (e) {
      this.scanBusy = false;
      this.setModel(scanRejected(this.model, this.errorText(e)));
      this.capture.reset();
      return;
    } finally {
      this.echo = '';
    }
    this.scanBusy = false;
    this.onScanOutcome(ev);
  }

  /** A `scan` event: the kiosk's own scans came back as submit_scan's answer already. The clerk
   * window reads none in kiosk mode, so the serial scanner's / camera's read beep is the kiosk's. */
  onScanEvent(ev: ScanEvent): void {
    if (isOwnSource(ev.source)) return;
    const sound = scanSound(ev, this.host.scanners());
    if (sound) playSound(sound);
    this.onScanOutcome(ev);
  }

  private onScanOutcome(ev: ScanEvent): void {
    const m = this.model;
    const waiting = m?.step === 'armed' || m?.step === 'sending';
    switch (ev.outcome.kind) {
      case 'charging':
        this.remember(ev.outcome.payment);
        if (waiting) this.setModel(attemptStarted(m, ev.outcome.payment, Date.now()));
        else this.handlePayment(ev.outcome.payment);
        return;
      case 'rejected':
        this.setModel(scanRejected(m, ev.message));
        this.capture.reset();
        return;
      case 'not_waiting': // a scan with nothing armed (or already paying): nothing for the customer
      case 'duplicate':
      case 'receipt': // a receipt held to the kiosk's scanner: refunds are the counter's
        return;
    }
  }

  // ---------------------------------------------------------------- language, leaving

  async toggleLanguage(): Promise<void> {
    await this.host.toggleLanguage();
    // the core's texts again in the new language: the charge, its attempt, a refused quote
    const b = this.host.boot();
    if (b) this.takeBoot(b);
    this.notice = null;
    if (this.quoteError) void this.requote();
  }

  /** The hidden corner held 3 s, or Ctrl+Alt+Q: a manager's PIN lets the till leave kiosk mode. */
  async leave(): Promise<void> {
    if (this.leaving || this.host.promptOpen()) return;
    this.notice = null;
    let b: Bootstrap | null;
    try {
      b = await this.host.withApproval('leave_kiosk', (approval) => api.leaveKiosk(approval));
    } catch (e) {
      this.notice = this.errorText(e);
      return;
    }
    if (!b) return; // cancelled: the kiosk stays as it was
    this.leaving = true;
    this.host.left(b);
  }

  // ---------------------------------------------------------------- keys, touches, clocks

  /** Capture phase on window, before the app's own key handling. */
  onKeydown = (e: KeyboardEvent): void => {
    this.activity();
    if (e.ctrlKey && e.altKey && !e.metaKey && (e.code === 'KeyQ' || e.key === 'q' || e.key === 'Q')) {
      e.preventDefault();
      void this.leave();
      return;
    }
    // the PIN prompt's keys are the app's (it routes them to the prompt in kiosk mode)
    this.capture.handleKey(e);
  };

  /** A touch or a key: the idle count starts over and "still there?" goes. */
  activity(nowMs: number = Date.now()): void {
    this.lastActivityMs = nowMs;
    this.idleWarning = null;
    this.notice = null; // a message about what was last done (an order or leaving refused)
  }

  /** The clock: the paid screen's return and the idle reset. */
  tick(nowMs: number): void {
    this.now = nowMs;
    const info = this.info;
    if (!info) return;
    const m = this.model;
    if (m?.step === 'paid' && m.paidAtMs !== null && paidSecondsLeft(m.paidAtMs, nowMs, info.paidResetSeconds) === 0) {
      this.finish();
      return;
    }
    const busy = this.ordering || this.busy || this.scanBusy || this.leaving || this.host.promptOpen();
    if (!idleEligible(m, this.count, busy)) {
      this.eligibleSinceMs = null;
      this.idleWarning = null;
      return;
    }
    this.eligibleSinceMs ??= nowMs;
    const st = idleStatus(Math.max(this.lastActivityMs, this.eligibleSinceMs), nowMs, info.idleResetSeconds);
    if (st.kind === 'warn') {
      this.idleWarning = st.seconds;
    } else if (st.kind === 'reset') {
      this.idleWarning = null;
      this.idleReset();
    } else {
      this.idleWarning = null;
    }
  }

  /** Nobody there: the open charge is cancelled and the start screen is empty again. */
  idleReset(): void {
    const m = this.model;
    this.eligibleSinceMs = null;
    if (m) {
      this.abandoned.add(m.charge.id);
      const id = m.charge.id;
      const wasArmed = m.step === 'armed';
      void (async () => {
        if (wasArmed) await api.disarmScan().catch(() => null);
        await api.cancelCharge(id).catch(() => null);
      })();
      this.setModel(null);
    } else {
      this.toStart();
    }
  }
}
