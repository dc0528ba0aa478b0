// Pure helpers of the reports and shift screens: yuan text of fen for chart axes, date strings,
// chart data, the day-vs-last-week sentence, printing the core's HTML. No money is computed here:
// amounts shown are the core's `Money.text`; `fenText` only writes an integer fen number's digits
// with a decimal point (for chart ticks and tooltips); the day-vs-last-week change is the core's
// `netChange`.

import type { AnyGroupKey, DayPoint, DayReport, Group, GroupKey, HourPoint, Money, ShiftReport } from './reportsApi';

// ---------------------------------------------------------------- money text

/**
 * Yuan text of an integer number of fen, by moving the decimal point in its digits:
 * 1234 → "12.34", 5 → "0.05", -5 → "-0.05", 0 → "0.00". `group` adds thousands separators
 * (123456789 → "1,234,567.89"). A value that is not a safe integer is not money the core sent; it
 * is written as it is rather than rounded.
 */
export function fenText(fen: number, opts: { group?: boolean } = {}): string {
  if (!Number.isSafeInteger(fen)) return String(fen);
  let digits = String(fen);
  let sign = '';
  if (digits.startsWith('-')) {
    sign = '-';
    digits = digits.slice(1);
  }
  digits = digits.padStart(3, '0');
  let yuan = digits.slice(0, -2);
  const cents = digits.slice(-2);
  if (opts.group) yuan = yuan.replace(/\B(?=(\d{3})+$)/g, ',');
  if (yuan === '0' && cents === '00') sign = '';
  return `${sign}${yuan}.${cents}`;
}

/** How a day's net compares with another, from the difference the core made: up, down or the
 * same, and its size as yuan text without the sign (the sentence says more / less). */
export interface NetComparison {
  kind: 'up' | 'down' | 'same';
  diffFen: number;
  /** the size of the difference, "12.34" */
  diffText: string;
}

export function compareNet(change: Money): NetComparison {
  const diffFen = change.fen;
  const kind = diffFen > 0 ? 'up' : diffFen < 0 ? 'down' : 'same';
  return { kind, diffFen, diffText: change.text.replace(/^-/, '') };
}

/** The day report's comparison with the same weekday a week before, ready for the sentence. */
export interface DayComparison extends NetComparison {
  date: string;
  netText: string;
  lastDate: string;
  lastNetText: string;
  /** the day is still running (the sentence says "so far") */
  partial: boolean;
}

export function dayComparison(r: DayReport, nowMs: number): DayComparison {
  return {
    ...compareNet(r.lastWeek.netChange),
    date: r.date,
    netText: r.totals.net.text,
    lastDate: r.lastWeek.date,
    lastNetText: r.lastWeek.totals.net.text,
    partial: nowMs >= r.fromMs && nowMs < r.toMs,
  };
}

// ---------------------------------------------------------------- dates ("YYYY-MM-DD")

const DAY_MS = 86_400_000;
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

const pad2 = (n: number) => String(n).padStart(2, '0');

/** A calendar date as it is written, read at UTC midnight (no time zone or DST shifts). */
function utcDate(s: string): Date | null {
  if (!DATE_RE.test(s)) return null;
  const d = new Date(`${s}T00:00:00Z`);
  if (Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== s) return null;
  return d;
}

/** A real calendar date written "YYYY-MM-DD" (2026-02-30 is not). */
export function isDateString(s: string): boolean {
  return utcDate(s) !== null;
}

/** The date `n` days after `date` (n may be negative). Throws on a string that is not a date. */
export function addDays(date: string, n: number): string {
  const d = utcDate(date);
  if (!d) throw new RangeError(`not a date: ${date}`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/** Days from `from` to `to`, both counted (same day: 1; `to` before `from`: 0 or less). */
export function daysInclusive(from: string, to: string): number {
  const a = utcDate(from);
  const b = utcDate(to);
  if (!a || !b) throw new RangeError(`not a date: ${a ? to : from}`);
  return Math.round((b.getTime() - a.getTime()) / DAY_MS) + 1;
}

/** The last `n` days ending with `end` (inclusive). */
export function lastNDays(end: string, n: number): { from: string; to: string } {
  return { from: addDays(end, -(n - 1)), to: end };
}

/** The local calendar date of `d`. */
export function localDateString(d: Date): string {
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
}

/** "YYYY-MM-DD HH:mm" in local time. */
export function dateTimeText(ms: number): string {
  const d = new Date(ms);
  return `${localDateString(d)} ${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
}

/** The core's limit for `range_report` / `export_csv`. */
export const MAX_RANGE_DAYS = 366;

export type RangeProblem = 'invalid' | 'order' | 'tooLong';

/** Why a range cannot be asked for, or null when it can. */
export function rangeProblem(from: string, to: string): RangeProblem | null {
  if (!isDateString(from) || !isDateString(to)) return 'invalid';
  const days = daysInclusive(from, to);
  if (days < 1) return 'order';
  if (days > MAX_RANGE_DAYS) return 'tooLong';
  return null;
}

// ---------------------------------------------------------------- tables

export const GROUP_KEYS: readonly GroupKey[] = ['byChannel', 'byWallet', 'byClerk', 'byTerminal'];

/** The rows of one breakdown table, as the core ordered them. */
export function groupRows(b: Partial<Record<AnyGroupKey, Group[]>>, key: AnyGroupKey): Group[] {
  return b[key] ?? [];
}

/** Closing the shift needs the manager's reason: something is unresolved, or the core said so. */
export function closeNeedsReason(x: ShiftReport | null, coreAsked: boolean): boolean {
  return coreAsked || (x?.unresolved.length ?? 0) > 0;
}

/** The reason sent to `close_shift`: the text typed, or null when nothing was typed. */
export function closeReasonArg(text: string): string | null {
  const t = text.trim();
  return t === '' ? null : t;
}

/** The opening cash sent to `open_shift`: the raw text typed (the core parses it), or null when blank. */
export function openingCashArg(text: string): string | null {
  return text.trim() === '' ? null : text;
}

// ---------------------------------------------------------------- charts

/** How a series is drawn: the main bars, a second bar series, or a lighter line (a comparison). */
export type SeriesStyle = 'primary' | 'secondary' | 'comparison';

export interface Series {
  label: string;
  style: SeriesStyle;
  /** integer fen per point; null where the series has no point */
  values: (number | null)[];
  /** the core's text of each value, shown in the tooltip; null where there is none */
  texts: (string | null)[];
  /** payments counted in each point, for the tooltip; null where not known */
  counts: (number | null)[];
}

export interface ChartSpec {
  /** x axis labels */
  labels: string[];
  /** tooltip titles, one per label */
  titles: string[];
  series: Series[];
}

/**
 * Sales by hour of a business day, with last week's same weekday as a comparison series. Points
 * are matched by `hour` (both days start at the cut-off hour); an hour missing on last week's day
 * is a gap.
 */
export function hourlyChart(
  today: readonly HourPoint[],
  lastWeek: readonly HourPoint[],
  names: { today: string; lastWeek: string },
): ChartSpec {
  const before = new Map(lastWeek.map((p) => [p.hour, p]));
  const prev = today.map((p) => before.get(p.hour) ?? null);
  return {
    labels: today.map((p) => p.label),
    titles: today.map((p) => p.label),
    series: [
      {
        label: names.today,
        style: 'primary',
        values: today.map((p) => p.gross.fen),
        texts: today.map((p) => p.gross.text),
        counts: today.map((p) => p.count),
      },
      {
        label: names.lastWeek,
        style: 'comparison',
        values: prev.map((p) => p?.gross.fen ?? null),
        texts: prev.map((p) => p?.gross.text ?? null),
        counts: prev.map((p) => p?.count ?? null),
      },
    ],
  };
}

/** Gross and net per day of a range. Labels are "MM-DD" when the days are all in one year. */
export function dailyChart(daily: readonly DayPoint[], names: { gross: string; net: string }): ChartSpec {
  const oneYear = new Set(daily.map((d) => d.date.slice(0, 4))).size <= 1;
  return {
    labels: daily.map((d) => (oneYear ? d.date.slice(5) : d.date)),
    titles: daily.map((d) => d.date),
    series: [
      {
        label: names.gross,
        style: 'primary',
        values: daily.map((d) => d.gross.fen),
        texts: daily.map((d) => d.gross.text),
        counts: daily.map((d) => d.count),
      },
      {
        label: names.net,
        style: 'secondary',
        values: daily.map((d) => d.net.fen),
        texts: daily.map((d) => d.net.text),
        counts: daily.map(() => null),
      },
    ],
  };
}

/** The tooltip line of one point: the core's text when there is one, else the fen as yuan. */
export function pointText(s: Series, i: number): string {
  const text = s.texts[i];
  if (text != null) return text;
  const v = s.values[i];
  return v == null ? '' : fenText(v);
}

// ---------------------------------------------------------------- printing

/** The parts of the DOM `printHtml` uses (a fake in the tests). */
export interface PrintFrame {
  style: { cssText: string };
  srcdoc: string;
  onload: ((ev: Event) => unknown) | null;
  contentWindow: { focus(): void; print(): void; addEventListener(type: 'afterprint', fn: () => void): void } | null;
  setAttribute(name: string, value: string): void;
  remove(): void;
}
export interface PrintDocument {
  createElement(tag: 'iframe'): PrintFrame;
  body: { appendChild(node: PrintFrame): unknown };
}

/**
 * Prints a complete HTML page through a hidden iframe (`srcdoc`, then `contentWindow.print()`).
 * Resolves once the print dialog was asked for; rejects when printing threw or the page did not
 * load within `loadTimeoutMs` (the caller then shows the page instead). The frame is removed after
 * printing (`afterprint`, or after `keepMs` at the latest).
 */
export function printHtml(
  html: string,
  doc: PrintDocument = document as unknown as PrintDocument,
  opts: { loadTimeoutMs?: number; keepMs?: number } = {},
): Promise<void> {
  const loadTimeoutMs = opts.loadTimeoutMs ?? 10_000;
  const keepMs = opts.keepMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const frame = doc.createElement('iframe');
    let done = false;
    let removed = false;
    const remove = () => {
      if (removed) return;
      removed = true;
      frame.remove();
    };
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      remove();
      reject(new Error('the report page did not load'));
    }, loadTimeoutMs);
    frame.setAttribute('aria-hidden', 'true');
    frame.setAttribute('tabindex', '-1');
    // off screen but laid out: some engines print an empty page from a display:none frame
    frame.style.cssText = 'position:fixed;left:-10000px;top:0;width:800px;height:1000px;border:0;';
    frame.onload = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        const w = frame.contentWindow;
        if (!w) throw new Error('no window to print');
        w.addEventListener('afterprint', remove);
        w.focus();
        w.print();
        setTimeout(remove, keepMs);
        resolve();
      } catch (e) {
        remove();
        reject(e);
      }
    };
    frame.srcdoc = html;
    doc.body.appendChild(frame);
  });
}
