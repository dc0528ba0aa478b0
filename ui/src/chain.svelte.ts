// The chain (issue 19): the upload's status line on the manager screen, and the Chain tab's
// state: a range of business days (default the last 7), the chain's figures for it and its CSV
// export. The core reads the chain's server and makes every figure and text.

import { lastNDays, localDateString, rangeProblem, type RangeProblem } from './reports';
import type { ExportKind, ExportResult } from './reportsApi';
import { chainApi, type ChainView, type SyncView } from './chainApi';
import type { ManagerDeps } from './manager.svelte';

/** How often the manager screen reads the upload's state. */
export const SYNC_POLL_MS = 5_000;

export class SyncLine {
  view = $state.raw<SyncView | null>(null);
  private seq = 0;

  async refresh(): Promise<void> {
    const seq = ++this.seq;
    try {
      const v = await chainApi.syncStatus();
      if (seq === this.seq) this.view = v;
    } catch {
      // The line is a hint; the Chain tab and the log say what failed.
    }
  }

  /** Reads now and every SYNC_POLL_MS until the returned function is called. */
  watch(): () => void {
    void this.refresh();
    const timer = setInterval(() => void this.refresh(), SYNC_POLL_MS);
    return () => clearInterval(timer);
  }
}

export class ChainState {
  from = $state('');
  to = $state('');
  view = $state.raw<ChainView | null>(null);
  loading = $state(false);
  error = $state<string | null>(null);
  exporting = $state<ExportKind | null>(null);
  exported = $state.raw<(ExportResult & { kind: ExportKind }) | null>(null);
  private seq = 0;

  constructor(private readonly deps: ManagerDeps) {
    ({ from: this.from, to: this.to } = lastNDays(localDateString(new Date()), 7));
  }

  get problem(): RangeProblem | null {
    return rangeProblem(this.from, this.to);
  }

  preset(days: number): Promise<void> {
    ({ from: this.from, to: this.to } = lastNDays(localDateString(new Date()), days));
    return this.load();
  }

  async load(): Promise<void> {
    if (this.problem !== null) return;
    const seq = ++this.seq;
    this.loading = true;
    try {
      const view = await chainApi.report(this.from, this.to);
      if (seq !== this.seq) return;
      this.view = view;
      this.error = null;
    } catch (e) {
      if (seq === this.seq) this.error = this.deps.errorText(e);
    } finally {
      if (seq === this.seq) this.loading = false;
    }
  }

  /** Every till's `kind` rows of the range shown, to the exports folder or `dir`. */
  async exportCsv(kind: ExportKind, dir: string | null): Promise<void> {
    const shown = this.view;
    if (!shown || this.exporting) return;
    this.exporting = kind;
    this.exported = null;
    try {
      this.exported = { ...(await chainApi.exportCsv(kind, shown.from, shown.to, dir)), kind };
      this.error = null;
    } catch (e) {
      this.error = this.deps.errorText(e);
    } finally {
      this.exporting = null;
    }
  }
}
