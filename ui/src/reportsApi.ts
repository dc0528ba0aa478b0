// Types and calls for reports, export and shifts (docs/ui-contract.md, "Managers", issue 5).
// Money arrives as `Money { fen, text }`: the UI shows `text`; `fen` only feeds the charts (as an
// integer) and the sign of the day-vs-last-week sentence (the core computes the change).
// Every command goes through api.ts's `call`: a failed command rejects with the core's
// `{ code, message }` (message already localized), anything else (no Tauri IPC) with
// `CoreUnreachable`; `errorText` turns both into one line for the screen. A `signed_out` rejection
// also brings back the sign-in screen (`onSignedOut`), as for every other command.

import {
  call,
  isCoreError,
  type Approval,
  type Money,
  type PaymentState,
  type PaymentView,
  type RefundState,
  type WithApproval,
} from './api';

// The shared types live in api.ts; re-exported for the reports modules that import them from here.
export type { Approval, Money, RefundState, WithApproval };

/** One row of a breakdown table (a channel, wallet, clerk or terminal). */
export interface Group {
  key: string;
  /** in the current language */
  name: string;
  count: number;
  gross: Money;
  refunds: Money;
  net: Money;
}

export interface Breakdown {
  /** paid payments */
  count: number;
  gross: Money;
  refundCount: number;
  refunds: Money;
  net: Money;
  /** gross / count rounded down to the fen by the core (0 when count is 0) */
  averageTicket: Money;
  byChannel: Group[];
  byWallet: Group[];
  byClerk: Group[];
  byTerminal: Group[];
}

export type GroupKey = 'byChannel' | 'byWallet' | 'byClerk' | 'byTerminal';
/** A breakdown table of a till's reports or of the chain's (by store, by till). */
export type AnyGroupKey = GroupKey | 'byStore' | 'byTill';

/** The totals every report shows above its tables. */
export type TotalsFigures = Pick<Breakdown, 'count' | 'gross' | 'refundCount' | 'refunds' | 'net' | 'averageTicket'>;

/** One hour of a business day (24 points from the cut-off hour; label "04:00"). */
export interface HourPoint {
  hour: number;
  label: string;
  count: number;
  gross: Money;
}

export interface DayReport {
  /** the business day, "YYYY-MM-DD" */
  date: string;
  fromMs: number;
  toMs: number;
  cutoffHour: number;
  totals: Breakdown;
  hourly: HourPoint[];
  /** the same weekday a week before */
  /** netChange: the day's net minus that day's net, made by the core */
  lastWeek: { date: string; totals: Breakdown; hourly: HourPoint[]; netChange: Money };
  /** payments started that day in any state */
  started: number;
  unresolved: PaymentView[];
}

export interface DayPoint {
  date: string;
  count: number;
  gross: Money;
  refunds: Money;
  net: Money;
}

export interface RangeReport {
  from: string;
  to: string;
  totals: Breakdown;
  daily: DayPoint[];
}

export type ExportKind = 'payments' | 'refunds';

/** What `export_csv` wrote (a UTF-8 CSV with BOM in the exports folder beside the ledger). */
export interface ExportResult {
  path: string;
  rows: number;
}

export interface ShiftInfo {
  id: number;
  /** null while the shift is open */
  zNo: number | null;
  terminal: string;
  openedBy: string;
  openedAtMs: number;
  openingCash: Money | null;
  closedBy: string | null;
  closedAtMs: number | null;
}

/** A payment or refund that was not final when the report was made. */
export interface UnresolvedItem {
  id: string;
  state: PaymentState | RefundState;
  /** the state's one name, from the core */
  stateText: string;
  what: 'payment' | 'refund';
  amount: Money;
  timeText: string;
}

export interface ShiftReport {
  /** null: no shift open (the X of the period since the last Z) */
  shift: ShiftInfo | null;
  kind: 'x' | 'z';
  fromMs: number;
  toMs: number;
  /** "2026-11-22 08:00 – 2026-11-22 20:15" */
  periodText: string;
  totals: Breakdown;
  unresolved: UnresolvedItem[];
  closeReason: string | null;
  /** when this report was made (a reprinted Z keeps its own) */
  printedAtMs: number;
}

export interface ShiftStatus {
  open: ShiftInfo | null;
  /** the X report of the current period */
  x: ShiftReport;
}

export const reportsApi = {
  /** `date` null: the current business day. */
  dayReport: (date: string | null) => call<DayReport>('day_report', { date }),
  /** Dates inclusive, at most 366 days. */
  rangeReport: (from: string, to: string) => call<RangeReport>('range_report', { from, to }),
  /** `dir`: a folder the manager picked; else the exports folder beside the ledger. */
  exportCsv: (kind: ExportKind, from: string, to: string, dir?: string | null) =>
    call<ExportResult>('export_csv', { kind, from, to, ...(dir ? { dir } : {}) }),

  shiftStatus: () => call<ShiftStatus>('shift_status'),
  /** `openingCashText`: the opening cash as typed (the core parses it), or null. */
  openShift: (openingCashText: string | null) => call<ShiftInfo>('open_shift', { openingCashText }),
  /** Closes the shift and returns its Z; rejects `unresolved` when something is open and no reason is given. */
  closeShift: (approval: Approval, reason: string | null) => call<ShiftReport>('close_shift', { approval, reason }),
  shiftReport: (shiftId: number) => call<ShiftReport>('shift_report', { shiftId }),
  /** closed shifts, newest first */
  zReports: (limit: number) => call<ShiftInfo[]>('z_reports', { limit }),
  /** a complete printable HTML page of that shift's report */
  zReportHtml: (shiftId: number) => call<string>('z_report_html', { shiftId }),
};

/** The rejection's code when the core sent one (`unresolved`, `shift_open`, …). */
export function errorCode(e: unknown): string | null {
  return isCoreError(e) ? e.code : null;
}

/** The line to show for a failed call: the core's message as is, else `fallback` (lost contact). */
export function errorText(e: unknown, fallback: string): string {
  return isCoreError(e) ? e.message : fallback;
}
