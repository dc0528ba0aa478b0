// The Reconciliation tab's state: a month of runs with each day's match rate, the run picked,
// a run started now (from the channel or a statement file) and a manager's resolution of a
// difference (a reason, then the manager's PIN). The core does every comparison and decision.

import { localDateString } from './reports';
import { reconApi, shiftMonth, type MonthView, type RunDetailView } from './reconApi';
import type { ManagerDeps } from './manager.svelte';

export class ReconState {
  month = $state(localDateString(new Date()).slice(0, 7));
  view = $state.raw<MonthView | null>(null);
  detail = $state.raw<RunDetailView | null>(null);
  /** the run form: a channel and a business day (default: yesterday, the usual bill) */
  channel = $state('');
  day = $state(localDateString(new Date(Date.now() - 86_400_000)));
  /** reasons typed per difference id */
  reasons = $state<Record<number, string>>({});
  loading = $state(false);
  running = $state(false);
  error = $state<string | null>(null);
  private seq = 0;

  constructor(private readonly deps: ManagerDeps) {}

  async load(): Promise<void> {
    const seq = ++this.seq;
    this.loading = true;
    try {
      const view = await reconApi.month(this.month);
      if (seq !== this.seq) return;
      this.view = view;
      this.error = null;
      if (this.channel === '' && view.channels.length > 0) this.channel = view.channels[0].id;
    } catch (e) {
      if (seq === this.seq) this.error = this.deps.errorText(e);
    } finally {
      if (seq === this.seq) this.loading = false;
    }
  }

  /** The month and the open run again (the window's language changed). */
  async reload(): Promise<void> {
    const open = this.detail?.run.id;
    await this.load();
    if (open !== undefined) await this.open(open);
  }

  moveMonth(delta: number): Promise<void> {
    this.month = shiftMonth(this.month, delta);
    this.detail = null;
    return this.load();
  }

  async open(runId: number): Promise<void> {
    try {
      this.detail = await reconApi.run(runId);
      this.error = null;
    } catch (e) {
      this.error = this.deps.errorText(e);
    }
  }

  /** Reconciles the form's channel and day: from the channel, or from the file at `path`. */
  async runNow(path: string | null): Promise<void> {
    if (this.running || this.channel === '') return;
    this.running = true;
    try {
      this.detail = await reconApi.reconcileNow(this.channel, this.day, path);
      this.error = null;
      if (this.detail.run.day.slice(0, 7) !== this.month) this.month = this.detail.run.day.slice(0, 7);
      await this.load();
    } catch (e) {
      this.error = this.deps.errorText(e);
    } finally {
      this.running = false;
    }
  }

  /** A manager resolves a difference of the open run, with the reason typed for it. */
  async resolve(differenceId: number, what: string): Promise<boolean> {
    const run = this.detail?.run;
    const reason = (this.reasons[differenceId] ?? '').trim();
    if (!run) return false;
    if (reason === '') {
      this.error = this.deps.t('reasonRequired');
      return false;
    }
    try {
      const done = await this.deps.withApproval(
        'resolve_difference',
        (approval) => reconApi.resolve(approval, differenceId, run.id, reason),
        what,
      );
      if (done === null) return false; // the PIN prompt was cancelled
      this.detail = done;
      this.error = null;
      delete this.reasons[differenceId];
      await this.load();
      return true;
    } catch (e) {
      this.error = this.deps.errorText(e);
      return false;
    }
  }
}
