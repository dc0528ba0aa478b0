// Types and calls of the Reconciliation tab (docs/ui-contract.md, "Reconciliation"). Every figure
// and text arrives made by the core: amounts as yuan text, the match rate in per mille, kinds and
// actions in the window's language. The UI computes no money and decides no state.

import { call, type Approval } from './api';

export interface RunView {
  id: number;
  channel: string;
  channelName: string;
  /** the channel's business day, YYYY-MM-DD */
  day: string;
  /** download, import or query_sweep */
  source: string;
  sourceText: string;
  fileName: string | null;
  fileSha256: string | null;
  rows: number;
  otherTillsRows: number;
  matched: number;
  matchedYuan: string;
  refundsMatched: number;
  refundsMatchedYuan: string;
  feeYuan: string;
  differences: number;
  /** differences no one has resolved (awaiting ones not counted) */
  unresolved: number;
  /** differences awaiting the next day's bill */
  waiting: number;
  matchPermille: number;
  runBy: string;
  atText: string;
}

export interface ResolutionView {
  action: string;
  actionText: string;
  reason: string;
  by: string;
  atText: string;
}

export interface DifferenceView {
  id: number;
  kind: string;
  kindText: string;
  explain: string;
  waiting: boolean;
  orderNo: string;
  refundNo: string | null;
  tradeNo: string | null;
  ledgerYuan: string | null;
  channelYuan: string | null;
  /** what resolving does; null once resolved or while awaiting the next bill */
  proposed: string | null;
  proposedText: string | null;
  resolution: ResolutionView | null;
}

export interface RunDetailView {
  run: RunView;
  differences: DifferenceView[];
}

export interface DayRate {
  day: string;
  /** null: no run that day */
  matchPermille: number | null;
  unresolved: number;
}

export interface MonthView {
  /** YYYY-MM */
  month: string;
  channels: { id: string; name: string }[];
  /** the newest run of each channel and day, newest day first */
  runs: RunView[];
  days: DayRate[];
}

export const reconApi = {
  month: (month: string) => call<MonthView>('recon_month', { month }),
  run: (runId: number) => call<RunDetailView>('recon_run', { runId }),
  /** From the channel (`path` null), or from the statement file at `path`. */
  reconcileNow: (channel: string, day: string, path: string | null) =>
    call<RunDetailView>('reconcile_now', { channel, day, path }),
  resolve: (approval: Approval, differenceId: number, runId: number, reason: string) =>
    call<RunDetailView>('resolve_difference', { approval, differenceId, runId, reason }),
};

/** `YYYY-MM` of `month` moved by `delta` months. */
export function shiftMonth(month: string, delta: number): string {
  const [y, m] = month.split('-').map(Number);
  const d = new Date(y, m - 1 + delta, 1);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}`;
}

/** The bar height of a day in the month chart, 0–100 (percent of the chart): a day that was
 * reconciled always shows a stub, so 0 % is not mistaken for "not reconciled". */
export function barPercent(permille: number | null): number {
  return permille === null ? 0 : Math.max(4, Math.min(100, Math.round(permille / 10)));
}

/** "99.5 %" from per mille (integer arithmetic on the core's figure). */
export function rateText(permille: number): string {
  return `${Math.trunc(permille / 10)}.${permille % 10} %`;
}
