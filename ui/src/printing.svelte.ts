// The receipt printer in the window: the print queue as the core reports it (`print-jobs`), the
// failed slips with Retry and Dismiss, the slip preview (read back by the core from the bytes it
// would send), and the Printer tab's settings form. A print never blocks or undoes a payment:
// every call here only queues, and a failure is listed until printed or dismissed.

import type { WithApproval } from './api';
import type { MessageKey } from './i18n';
import {
  printApi,
  type PrintJobView,
  type PrinterCheck,
  type PrinterConfig,
  type PrinterSettingsView,
  type SlipKind,
  type SlipPreview,
} from './printApi';
import { formChanged, formFromPrinter, printerFromForm, type PrinterForm, type PrinterNumberField } from './printerForm';

export interface PrintingDeps {
  withApproval: WithApproval;
  t(key: MessageKey, vars?: Record<string, string | number>): string;
  errorText(e: unknown): string;
  showNotice(text: string): void;
}

/** Slips a person prints from the window. */
export type PrintableKind = 'receipt' | 'refund' | 'x' | 'z' | 'test';

/** The preview on show: which slip, and the core's reading of its bytes. */
export interface PreviewSession {
  kind: PrintableKind;
  target: string | null;
  preview: SlipPreview | null;
  busy: 'load' | 'print' | null;
  error: string | null;
}

/** How many failed slips the counter shows one by one; more are counted, with Retry all. */
export const SHOWN_FAILED = 2;

export class PrintQueue {
  /** jobs waiting, printing or failed, oldest first */
  jobs = $state.raw<PrintJobView[]>([]);
  /** a printer is set up at this till */
  printer = $state(false);
  preview = $state<PreviewSession | null>(null);
  /** a job id whose Retry or Dismiss is on its way */
  acting = $state<number | null>(null);
  readonly failed = $derived(this.jobs.filter((j) => j.state === 'failed'));
  /** the failed slips shown one by one at the counter (newest first); the rest are counted */
  readonly shownFailed = $derived(this.failed.slice(-SHOWN_FAILED).reverse());

  constructor(private readonly deps: PrintingDeps) {}

  take(jobs: PrintJobView[]): void {
    this.jobs = jobs;
  }

  async retry(id: number): Promise<void> {
    await this.act(id, () => printApi.retry(id));
  }

  async dismiss(id: number): Promise<void> {
    await this.act(id, () => printApi.dismiss(id));
  }

  /** Every failed slip again (the printer is back after a day's worth of failures). */
  async retryAll(): Promise<void> {
    const ids = this.failed.map((j) => j.id);
    if (ids.length === 0) return;
    await this.act(ids[0], async () => {
      for (const id of ids) await printApi.retry(id);
      return true;
    });
  }

  private async act(id: number, call: () => Promise<boolean>): Promise<void> {
    if (this.acting !== null) return;
    this.acting = id;
    try {
      await call();
      this.take(await printApi.jobs());
    } catch (e) {
      this.deps.showNotice(this.deps.errorText(e));
    } finally {
      this.acting = null;
    }
  }

  /** Queues a slip; says so, or why not. True when queued. */
  async print(kind: PrintableKind, target: string | null): Promise<boolean> {
    try {
      if (kind === 'receipt') {
        if (target === null) return false;
        await printApi.printReceipt(target);
      } else {
        await printApi.printSlip(kind, target);
      }
      this.deps.showNotice(this.deps.t('printQueued'));
      return true;
    } catch (e) {
      this.deps.showNotice(this.deps.errorText(e));
      return false;
    }
  }

  /** Shows a slip as it will print. */
  async openPreview(kind: PrintableKind, target: string | null = null): Promise<void> {
    const session: PreviewSession = { kind, target, preview: null, busy: 'load', error: null };
    this.preview = session;
    const shown = this.preview;
    try {
      const p = await printApi.preview(kind, target);
      if (this.preview === shown) shown.preview = p;
    } catch (e) {
      if (this.preview === shown) shown.error = this.deps.errorText(e);
    } finally {
      if (this.preview === shown) shown.busy = null;
    }
  }

  /** Prints the slip on show, then closes the preview. */
  async printPreview(): Promise<void> {
    const shown = this.preview;
    if (!shown || shown.busy !== null) return;
    shown.busy = 'print';
    const queued = await this.print(shown.kind, shown.target);
    if (this.preview !== shown) return;
    shown.busy = null;
    if (queued) this.preview = null;
  }

  closePreview(): void {
    if (this.preview?.busy === 'print') return;
    this.preview = null;
  }
}

/** The Printer tab: the settings form, the check, the test print and the drawer. */
export class PrinterSettings {
  view = $state.raw<PrinterSettingsView | null>(null);
  form = $state<PrinterForm | null>(null);
  busy = $state<null | 'load' | 'save' | 'check' | 'drawer'>(null);
  error = $state<string | null>(null);
  /** the field the form could not read */
  invalid = $state<PrinterNumberField | 'address' | null>(null);
  check = $state<PrinterCheck | null>(null);
  saved = $state(false);

  constructor(
    private readonly deps: PrintingDeps,
    private readonly queue: PrintQueue,
  ) {}

  /** The form differs from the saved settings (the check and the test print wait for a save). */
  get dirty(): boolean {
    return this.form !== null && formChanged(this.form, this.view?.printer ?? null, this.view?.usb ?? []);
  }

  async load(): Promise<void> {
    if (this.busy !== null && this.busy !== 'load') return;
    this.busy = 'load';
    try {
      const v = await printApi.settings();
      this.take(v, this.form === null || !this.dirty);
      this.error = null;
    } catch (e) {
      this.error = this.deps.errorText(e);
    } finally {
      this.busy = null;
    }
  }

  private take(v: PrinterSettingsView, resetForm: boolean): void {
    this.view = v;
    if (resetForm) this.form = formFromPrinter(v.printer, v.usb);
    this.queue.printer = v.printer !== null;
  }

  async save(): Promise<void> {
    const form = this.form;
    if (!form || this.busy !== null) return;
    const r = printerFromForm(form);
    this.saved = false;
    this.check = null;
    if (!r.ok) {
      this.invalid = r.field;
      this.error = this.deps.t(r.field === 'address' ? 'printerAddressMissing' : 'printerNotWhole');
      return;
    }
    this.invalid = null;
    this.error = null;
    this.busy = 'save';
    try {
      const printer: PrinterConfig | null = r.printer;
      const v = await this.deps.withApproval('settings', (a) => printApi.saveSettings(a, printer));
      if (v === null) return; // the PIN prompt was cancelled
      this.take(v, true);
      this.saved = true;
    } catch (e) {
      this.error = this.deps.errorText(e);
    } finally {
      this.busy = null;
    }
  }

  async runCheck(): Promise<void> {
    if (this.busy !== null) return;
    this.busy = 'check';
    this.check = null;
    try {
      this.check = await printApi.check();
    } catch (e) {
      this.check = { ready: false, text: this.deps.errorText(e) };
    } finally {
      this.busy = null;
    }
  }

  async openDrawer(): Promise<void> {
    if (this.busy !== null) return;
    this.busy = 'drawer';
    this.error = null;
    try {
      const id = await this.deps.withApproval('open_drawer', (a) => printApi.openDrawer(a));
      if (id !== null) this.deps.showNotice(this.deps.t('drawerOpening'));
    } catch (e) {
      this.error = this.deps.errorText(e);
    } finally {
      this.busy = null;
    }
  }
}

/** The preview's title: which slip it is. */
export function previewTitleKey(kind: SlipKind): MessageKey {
  return `slip_${kind}` as MessageKey;
}
