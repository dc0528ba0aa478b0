// The application state (Svelte 5 runes) and the actions the screens call. Everything about money
// and payment state comes from the core: this file only stores what the core sent and forwards what
// the clerk did.

import {
  api,
  isCoreError,
  subscribe,
  type Bootstrap,
  type Channel,
  type Lang,
  type PaymentAlert,
  type PaymentView,
  type ScanSource,
  type TenderMethod,
  type Today,
} from './api';
import { amountKeyFromEvent, editAmount, type AmountKey } from './amountEdit';
import { translate, type MessageKey } from './i18n';
import { mergeView, resultKind } from './payment';
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
import { WedgeCapture } from './wedgeCapture';

export interface ScanSession {
  /** the amount as the core formatted it (check_amount) */
  amountText: string;
  /** the amount as the clerk typed it: what is sent to charge_barcode */
  typed: string;
  manual: string;
  echo: string;
  busy: boolean;
  error: string | null;
}

const TODAY_REFRESH_MS = 30_000;
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

  /** the method picked per channel (code), for the session */
  methodCodes = $state<Record<string, string>>({});

  channel: Channel | null = $derived(
    this.boot?.channels.find((c) => c.id === this.channelId) ?? this.boot?.channels[0] ?? null,
  );
  /** the tender a QR payment on the selected channel uses; null when the channel has no choice */
  method: TenderMethod | null = $derived(pickMethod(this.channel, this.methodCodes[this.channel?.id ?? '']));
  /** the method picker is shown (the selected channel does QR and offers methods) */
  methodPicker: boolean = $derived(hasMethodPicker(this.channel));
  /** the tender bar is shown (more than one channel, or a method to pick) */
  tenderBar: boolean = $derived(showsTenderBar(this.boot?.channels ?? [], this.channel));
  /** the clerk cannot change the tender now (a check, a payment or the scan overlay is under way) */
  tenderLocked: boolean = $derived(this.busy !== null || this.scan !== null || this.active !== null);

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

  readonly capture = new WedgeCapture({
    isScanMode: () => this.scan !== null && this.active === null,
    onEntry: (v) => {
      if (this.scan) {
        this.scan.manual = v.manual;
        this.scan.echo = v.echo;
      }
    },
    onScan: (code) => void this.charge(code, 'wedge'),
    onManualSubmit: (text) => void this.charge(text, 'manual'),
    snapshot: () => {
      const amount = this.amount;
      return () => {
        this.amount = amount;
      };
    },
    onPassiveScan: () => this.showNotice(this.t('passiveScanNotice')),
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
    this.timers.push(window.setInterval(() => (this.now = Date.now()), 250));
    this.timers.push(
      window.setInterval(() => {
        if (this.status === 'ready') void this.refreshToday();
      }, TODAY_REFRESH_MS),
    );
    void this.start();
    return () => {
      removeCapture();
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
        });
      }
      const b = await api.bootstrap();
      this.applyBoot(b);
      this.status = 'ready';
      if (b.active) this.showPayment(b.active);
      void this.refreshToday();
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
      void this.refreshToday();
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
  }

  private remember(v: PaymentView): void {
    // a fresh view restarts its countdown from the real time, not the last 250 ms tick
    this.now = Date.now();
    this.views.delete(v.id);
    this.views.set(v.id, v);
    if (this.views.size > CACHE_LIMIT) {
      const oldest = this.views.keys().next().value;
      if (oldest !== undefined) this.views.delete(oldest);
    }
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
      }
    }
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
    if (this.busy || this.scan || this.active) return;
    this.amount = editAmount(this.amount, key);
    this.amountError = null;
  }

  // ---------------------------------------------------------------- tender

  setChannel(id: string): void {
    if (this.tenderLocked || id === this.channelId) return;
    if (!this.boot?.channels.some((c) => c.id === id)) return;
    this.channelId = id;
    this.amountError = null; // it was about the other channel's attempt
    this.rememberTender();
  }

  /** F3: the next channel, wrapping round. */
  cycleChannel(): void {
    const channels = this.boot?.channels ?? [];
    if (channels.length < 2 || !this.channel) return;
    this.setChannel(nextChannel(channels, this.channel.id));
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

  private get canStart(): boolean {
    return this.status === 'ready' && !this.busy && !this.scan && !this.active && this.channel !== null;
  }

  async openScan(): Promise<void> {
    if (!this.canStart || !this.channel) return;
    if (!this.channel.barcode) {
      // Enter / F1 on a channel without payment codes (the button is hidden)
      this.showNotice(this.t('channelNoBarcode'));
      return;
    }
    this.busy = 'check';
    this.amountError = null;
    const typed = this.amount;
    try {
      const checked = await api.checkAmount(typed);
      this.capture.reset();
      this.scan = { amountText: checked.amountText, typed, manual: '', echo: '', busy: false, error: null };
    } catch (e) {
      this.amountError = this.errorText(e);
    } finally {
      this.busy = null;
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
    this.busy = 'check';
    this.amountError = null;
    const typed = this.amount;
    try {
      await api.checkAmount(typed);
      this.busy = 'qr';
      const v = await api.startQr(channel, typed, method);
      this.showPayment(v);
    } catch (e) {
      this.amountError = this.errorText(e);
    } finally {
      this.busy = null;
    }
  }

  // ---------------------------------------------------------------- scan overlay

  closeScan(): void {
    if (!this.scan || this.scan.busy) return;
    this.scan = null;
    this.capture.reset();
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
    if (text !== '') void this.charge(text, 'manual');
  }

  async charge(code: string, source: ScanSource): Promise<void> {
    const s = this.scan;
    if (!s || s.busy || this.active || !this.channel) return;
    s.busy = true;
    s.error = null;
    try {
      const v = await api.chargeBarcode(this.channel.id, s.typed, code, source);
      this.scan = null;
      this.capture.reset();
      this.showPayment(v);
    } catch (e) {
      if (this.scan) {
        this.scan.busy = false;
        this.scan.error = this.errorText(e);
        this.scan.manual = '';
        this.scan.echo = '';
      }
      this.capture.reset();
    }
  }

  // ---------------------------------------------------------------- payment overlay

  async cancel(): Promise<void> {
    const a = this.active;
    if (!a || a.final || a.phase === 'cancelling' || a.phase === 'not_confirmed' || this.cancelBusy) return;
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
    this.active = null;
    this.activeError = null;
    this.amountError = null;
    void this.refreshToday();
  }

  // ---------------------------------------------------------------- keyboard (bubble phase)

  onKeydown = (e: KeyboardEvent): void => {
    if (this.status !== 'ready' || e.defaultPrevented || e.isComposing) return;
    const key = e.key;
    if (this.active) {
      const kind = resultKind(this.active);
      if (kind && (key === 'Enter' || key === 'Escape')) {
        e.preventDefault();
        this.finishPayment();
      } else if (!kind && key === 'Escape') {
        e.preventDefault();
        void this.cancel();
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
    const target = e.target as Element | null;
    const tag = target?.tagName ?? '';
    if (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT') return;
    if (key === 'Enter') {
      // a button reached with Tab is activated by Enter as usual
      if (tag === 'BUTTON' || tag === 'A') return;
      e.preventDefault();
      void this.openScan();
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
