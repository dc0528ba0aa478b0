import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn() }));

import { invoke } from '@tauri-apps/api/core';
import { CoreUnreachable, onSignedOut } from './api';
import {
  addDays,
  closeNeedsReason,
  closeReasonArg,
  compareNet,
  dailyChart,
  dateTimeText,
  dayComparison,
  daysInclusive,
  fenText,
  groupRows,
  GROUP_KEYS,
  hourlyChart,
  isDateString,
  lastNDays,
  localDateString,
  MAX_RANGE_DAYS,
  openingCashArg,
  pointText,
  printHtml,
  rangeProblem,
  type PrintDocument,
  type PrintFrame,
} from './reports';
import {
  errorCode,
  errorText,
  reportsApi,
  type Breakdown,
  type DayPoint,
  type DayReport,
  type Group,
  type HourPoint,
  type Money,
  type ShiftReport,
} from './reportsApi';
import { reportDictionaries, rt } from './reportsI18n';

// ---------------------------------------------------------------- fixtures

const money = (fen: number, text = fenText(fen)): Money => ({ fen, text });

function breakdown(p: Partial<Breakdown> = {}): Breakdown {
  return {
    count: 0,
    gross: money(0),
    refundCount: 0,
    refunds: money(0),
    net: money(0),
    averageTicket: money(0),
    byChannel: [],
    byWallet: [],
    byClerk: [],
    byTerminal: [],
    ...p,
  };
}

function hours(from: number, values: number[]): HourPoint[] {
  return values.map((fen, i) => {
    const hour = (from + i) % 24;
    return { hour, label: `${String(hour).padStart(2, '0')}:00`, count: fen === 0 ? 0 : 1, gross: money(fen) };
  });
}

function dayReport(p: Partial<DayReport> = {}): DayReport {
  return {
    date: '2026-11-22',
    fromMs: 1_000,
    toMs: 2_000,
    cutoffHour: 4,
    totals: breakdown({ net: money(12345, '123.45') }),
    hourly: hours(4, new Array(24).fill(0)),
    lastWeek: {
      date: '2026-11-15',
      totals: breakdown({ net: money(10000, '100.00') }),
      hourly: [],
      netChange: money(2345, '23.45'),
    },
    started: 0,
    unresolved: [],
    ...p,
  };
}

// ---------------------------------------------------------------- fenText

describe('fenText', () => {
  it('moves the decimal point of an integer fen number', () => {
    expect(fenText(0)).toBe('0.00');
    expect(fenText(1)).toBe('0.01');
    expect(fenText(5)).toBe('0.05');
    expect(fenText(10)).toBe('0.10');
    expect(fenText(99)).toBe('0.99');
    expect(fenText(100)).toBe('1.00');
    expect(fenText(101)).toBe('1.01');
    expect(fenText(1234)).toBe('12.34');
    expect(fenText(5000000)).toBe('50000.00');
  });

  it('keeps the sign of negative amounts', () => {
    expect(fenText(-5)).toBe('-0.05');
    expect(fenText(-99)).toBe('-0.99');
    expect(fenText(-100)).toBe('-1.00');
    expect(fenText(-1234)).toBe('-12.34');
    expect(fenText(-0)).toBe('0.00');
  });

  it('groups thousands on request', () => {
    expect(fenText(123456789, { group: true })).toBe('1,234,567.89');
    expect(fenText(100000, { group: true })).toBe('1,000.00');
    expect(fenText(99999, { group: true })).toBe('999.99');
    expect(fenText(-123456789, { group: true })).toBe('-1,234,567.89');
    expect(fenText(5, { group: true })).toBe('0.05');
    expect(fenText(123456789)).toBe('1234567.89');
  });

  it('is exact up to the largest safe integer', () => {
    expect(fenText(Number.MAX_SAFE_INTEGER)).toBe('90071992547409.91');
    expect(fenText(-Number.MAX_SAFE_INTEGER, { group: true })).toBe('-90,071,992,547,409.91');
  });

  it('agrees with a decimal reference for many integers', () => {
    // the reference is arithmetic (fine in a test): n / 100 is exact enough to round to 2 places
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed;
    };
    for (let i = 0; i < 2000; i++) {
      const n = (next() % 20_000_000) - 10_000_000;
      const ref = (n / 100).toFixed(2).replace(/^-0\.00$/, '0.00');
      expect(fenText(n), String(n)).toBe(ref);
    }
  });

  it('writes a value that is not a safe integer as it is (never rounds)', () => {
    expect(fenText(12.5)).toBe('12.5');
    expect(fenText(Number.NaN)).toBe('NaN');
    expect(fenText(Number.POSITIVE_INFINITY)).toBe('Infinity');
    expect(fenText(2 ** 60)).toBe(String(2 ** 60));
  });
});

// ---------------------------------------------------------------- comparison

describe('compareNet / dayComparison', () => {
  it('says more, less or the same, with the size of the difference', () => {
    // The core sends the difference; the screen only reads its sign and its text.
    expect(compareNet(money(2345, '23.45'))).toEqual({ kind: 'up', diffFen: 2345, diffText: '23.45' });
    expect(compareNet(money(-2345, '-23.45'))).toEqual({ kind: 'down', diffFen: -2345, diffText: '23.45' });
    expect(compareNet(money(0, '0.00'))).toEqual({ kind: 'same', diffFen: 0, diffText: '0.00' });
    expect(compareNet(money(7, '0.07'))).toEqual({ kind: 'up', diffFen: 7, diffText: '0.07' });
  });

  it("uses the core's texts for both nets and knows whether the day is still running", () => {
    const r = dayReport();
    const c = dayComparison(r, 1_500);
    expect(c).toMatchObject({
      kind: 'up',
      diffText: '23.45',
      date: '2026-11-22',
      netText: '123.45',
      lastDate: '2026-11-15',
      lastNetText: '100.00',
      partial: true,
    });
    expect(dayComparison(r, 2_000).partial).toBe(false);
    expect(dayComparison(r, 999).partial).toBe(false);
  });

  it('fills the sentence in both languages', () => {
    const c = dayComparison(dayReport(), 5_000);
    const vars = { date: c.date, net: c.netText, lastDate: c.lastDate, lastNet: c.lastNetText, diff: c.diffText };
    expect(rt('zh', 'compareUp', vars)).toBe('2026-11-22 净额 ¥123.45，比上周同日 2026-11-15（¥100.00）多 ¥23.45。');
    expect(rt('en', 'compareUp', vars)).toContain('¥23.45 more');
  });
});

// ---------------------------------------------------------------- dates

describe('date strings', () => {
  it('knows a real calendar date', () => {
    expect(isDateString('2026-11-22')).toBe(true);
    expect(isDateString('2024-02-29')).toBe(true);
    expect(isDateString('2023-02-29')).toBe(false);
    expect(isDateString('2026-02-30')).toBe(false);
    expect(isDateString('2026-13-01')).toBe(false);
    expect(isDateString('2026-00-10')).toBe(false);
    expect(isDateString('2026-1-01')).toBe(false);
    expect(isDateString('12026-01-01')).toBe(false);
    expect(isDateString('')).toBe(false);
    expect(isDateString('2026-11-22T00:00')).toBe(false);
  });

  it('adds days across months, years and leap days', () => {
    expect(addDays('2026-11-22', 1)).toBe('2026-11-23');
    expect(addDays('2026-11-30', 1)).toBe('2026-12-01');
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addDays('2027-01-01', -1)).toBe('2026-12-31');
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29');
    expect(addDays('2023-02-28', 1)).toBe('2023-03-01');
    expect(addDays('2024-03-01', -1)).toBe('2024-02-29');
    expect(addDays('2026-11-22', -7)).toBe('2026-11-15');
    expect(addDays('2026-11-22', 0)).toBe('2026-11-22');
    expect(addDays('2026-01-01', 365)).toBe('2027-01-01');
    expect(() => addDays('2026-02-30', 1)).toThrow();
  });

  it('is not moved by daylight saving changes (dates are read at UTC midnight)', () => {
    // DST starts in the EU on 2026-03-29 and in the US on 2026-03-08; ends 2026-10-25 / 2026-11-01
    for (const d of ['2026-03-08', '2026-03-29', '2026-10-25', '2026-11-01']) {
      expect(addDays(addDays(d, -1), 1)).toBe(d);
      expect(addDays(addDays(d, 1), -1)).toBe(d);
      expect(daysInclusive(addDays(d, -3), addDays(d, 3))).toBe(7);
    }
  });

  it('counts the days of a range, both ends included', () => {
    expect(daysInclusive('2026-11-22', '2026-11-22')).toBe(1);
    expect(daysInclusive('2026-11-16', '2026-11-22')).toBe(7);
    expect(daysInclusive('2026-11-23', '2026-11-22')).toBe(0);
    expect(daysInclusive('2024-01-01', '2024-12-31')).toBe(366);
    expect(daysInclusive('2025-01-01', '2025-12-31')).toBe(365);
    expect(() => daysInclusive('x', '2026-11-22')).toThrow();
  });

  it('makes the last n days ending with a day', () => {
    expect(lastNDays('2026-11-22', 7)).toEqual({ from: '2026-11-16', to: '2026-11-22' });
    expect(lastNDays('2026-03-02', 7)).toEqual({ from: '2026-02-24', to: '2026-03-02' });
    expect(lastNDays('2026-01-03', 30)).toEqual({ from: '2025-12-05', to: '2026-01-03' });
    expect(lastNDays('2026-11-22', 1)).toEqual({ from: '2026-11-22', to: '2026-11-22' });
    const { from, to } = lastNDays('2026-11-22', 7);
    expect(daysInclusive(from, to)).toBe(7);
  });

  it('checks a range as the core does (at most 366 days)', () => {
    expect(rangeProblem('2026-11-16', '2026-11-22')).toBeNull();
    expect(rangeProblem('2026-11-22', '2026-11-22')).toBeNull();
    expect(rangeProblem('2026-11-23', '2026-11-22')).toBe('order');
    expect(rangeProblem('', '2026-11-22')).toBe('invalid');
    expect(rangeProblem('2026-11-22', '2026-02-30')).toBe('invalid');
    expect(MAX_RANGE_DAYS).toBe(366);
    expect(rangeProblem('2024-01-01', '2024-12-31')).toBeNull(); // 366 days
    expect(rangeProblem('2025-01-01', '2026-01-01')).toBeNull(); // 366 days
    expect(rangeProblem('2025-01-01', '2026-01-02')).toBe('tooLong'); // 367
  });

  it('writes local dates and times', () => {
    expect(localDateString(new Date(2026, 0, 5, 23, 59))).toBe('2026-01-05');
    expect(localDateString(new Date(2026, 11, 31, 0, 0))).toBe('2026-12-31');
    expect(dateTimeText(new Date(2026, 10, 22, 8, 5, 59).getTime())).toBe('2026-11-22 08:05');
    expect(dateTimeText(new Date(2026, 0, 1, 0, 0).getTime())).toBe('2026-01-01 00:00');
  });
});

// ---------------------------------------------------------------- tables and shift helpers

describe('tables and shift helpers', () => {
  it('gives the rows of each breakdown table in the core order', () => {
    const g = (key: string): Group => ({ key, name: key, count: 1, gross: money(1), refunds: money(0), net: money(1) });
    const b = breakdown({ byChannel: [g('abc'), g('lakala')], byClerk: [g('1')] });
    expect(GROUP_KEYS).toEqual(['byChannel', 'byWallet', 'byClerk', 'byTerminal']);
    expect(groupRows(b, 'byChannel').map((r) => r.key)).toEqual(['abc', 'lakala']);
    expect(groupRows(b, 'byWallet')).toEqual([]);
    expect(groupRows(b, 'byClerk')).toHaveLength(1);
  });

  it('needs a reason to close when something is unfinished or the core asked for one', () => {
    const x = (n: number): ShiftReport => ({
      shift: null,
      kind: 'x',
      fromMs: 0,
      toMs: 1,
      periodText: '',
      totals: breakdown(),
      unresolved: Array.from({ length: n }, (_, i) => ({
        id: `P${i}`,
        state: 'unknown' as const,
        stateText: '付款未确认',
        what: 'payment' as const,
        amount: money(100),
        timeText: '10:00:00',
      })),
      closeReason: null,
      printedAtMs: 0,
    });
    expect(closeNeedsReason(x(0), false)).toBe(false);
    expect(closeNeedsReason(x(2), false)).toBe(true);
    expect(closeNeedsReason(x(0), true)).toBe(true);
    expect(closeNeedsReason(null, false)).toBe(false);
  });

  it('sends the reason trimmed, or null', () => {
    expect(closeReasonArg('')).toBeNull();
    expect(closeReasonArg('   \n')).toBeNull();
    expect(closeReasonArg('  checked with the bank ')).toBe('checked with the bank');
  });

  it('sends the opening cash as typed (the core parses it), or null when blank', () => {
    expect(openingCashArg('')).toBeNull();
    expect(openingCashArg('  ')).toBeNull();
    expect(openingCashArg('200')).toBe('200');
    expect(openingCashArg('200.5')).toBe('200.5');
    expect(openingCashArg('abc')).toBe('abc');
  });
});

// ---------------------------------------------------------------- charts

describe('chart data', () => {
  it('builds sales by hour with last week matched by hour', () => {
    const today = hours(4, [0, 1234, 500]);
    const lastWeek = [...hours(4, [100, 0, 700])].reverse(); // order does not matter
    const spec = hourlyChart(today, lastWeek, { today: 'T', lastWeek: 'L' });
    expect(spec.labels).toEqual(['04:00', '05:00', '06:00']);
    expect(spec.titles).toEqual(spec.labels);
    expect(spec.series).toHaveLength(2);
    expect(spec.series[0]).toEqual({
      label: 'T',
      style: 'primary',
      values: [0, 1234, 500],
      texts: ['0.00', '12.34', '5.00'],
      counts: [0, 1, 1],
    });
    expect(spec.series[1]).toMatchObject({ label: 'L', style: 'comparison', values: [100, 0, 700] });
  });

  it('leaves a gap where last week has no such hour, and wraps past midnight', () => {
    const today = hours(22, [1, 2, 3, 4]); // 22, 23, 0, 1
    const lastWeek = hours(23, [20, 30]); // 23, 0
    const spec = hourlyChart(today, lastWeek, { today: 'T', lastWeek: 'L' });
    expect(spec.labels).toEqual(['22:00', '23:00', '00:00', '01:00']);
    expect(spec.series[1].values).toEqual([null, 20, 30, null]);
    expect(spec.series[1].texts).toEqual([null, '0.20', '0.30', null]);
    expect(spec.series[1].counts).toEqual([null, 1, 1, null]);
  });

  it('handles an empty last week', () => {
    const spec = hourlyChart(hours(4, [5, 6]), [], { today: 'T', lastWeek: 'L' });
    expect(spec.series[1].values).toEqual([null, null]);
  });

  it('builds gross and net per day', () => {
    const daily: DayPoint[] = [
      { date: '2026-11-21', count: 3, gross: money(3000), refunds: money(500), net: money(2500) },
      { date: '2026-11-22', count: 0, gross: money(0), refunds: money(800), net: money(-800) },
    ];
    const spec = dailyChart(daily, { gross: 'G', net: 'N' });
    expect(spec.labels).toEqual(['11-21', '11-22']);
    expect(spec.titles).toEqual(['2026-11-21', '2026-11-22']);
    expect(spec.series[0]).toMatchObject({ style: 'primary', values: [3000, 0], counts: [3, 0] });
    expect(spec.series[1]).toMatchObject({
      style: 'secondary',
      values: [2500, -800],
      texts: ['25.00', '-8.00'],
      counts: [null, null],
    });
  });

  it('writes whole dates when the range crosses a year', () => {
    const p = (date: string): DayPoint => ({ date, count: 0, gross: money(0), refunds: money(0), net: money(0) });
    expect(dailyChart([p('2026-12-31'), p('2027-01-01')], { gross: 'G', net: 'N' }).labels).toEqual([
      '2026-12-31',
      '2027-01-01',
    ]);
    expect(dailyChart([], { gross: 'G', net: 'N' }).labels).toEqual([]);
  });

  it("shows the core's text in tooltips, else the fen as yuan", () => {
    const s = { label: 'x', style: 'primary' as const, values: [1234, 500, null], texts: ['12.34', null, null], counts: [] };
    expect(pointText(s, 0)).toBe('12.34');
    expect(pointText(s, 1)).toBe('5.00');
    expect(pointText(s, 2)).toBe('');
  });
});

// ---------------------------------------------------------------- printing

class FakeFrame implements PrintFrame {
  style = { cssText: '' };
  srcdoc = '';
  onload: ((ev: Event) => unknown) | null = null;
  attrs: Record<string, string> = {};
  removed = 0;
  afterprint: (() => void) | null = null;
  printed = 0;
  contentWindow: PrintFrame['contentWindow'];
  constructor(private readonly printFails = false, hasWindow = true) {
    this.contentWindow = hasWindow
      ? {
          focus: () => {},
          print: () => {
            if (this.printFails) throw new Error('no printing here');
            this.printed++;
          },
          addEventListener: (_type, fn) => {
            this.afterprint = fn;
          },
        }
      : null;
  }
  setAttribute(name: string, value: string) {
    this.attrs[name] = value;
  }
  remove() {
    this.removed++;
  }
}

function fakeDoc(frame: FakeFrame): PrintDocument & { appended: PrintFrame[] } {
  const appended: PrintFrame[] = [];
  return {
    appended,
    createElement: () => frame,
    body: { appendChild: (n: PrintFrame) => appended.push(n) },
  };
}

describe('printHtml', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('prints the page through a hidden frame and removes it after printing', async () => {
    const frame = new FakeFrame();
    const doc = fakeDoc(frame);
    const done = printHtml('<h1>Z</h1>', doc);
    expect(doc.appended).toEqual([frame]);
    expect(frame.srcdoc).toBe('<h1>Z</h1>');
    expect(frame.attrs['aria-hidden']).toBe('true');
    expect(frame.style.cssText).toContain('position:fixed');
    frame.onload?.({} as Event);
    await expect(done).resolves.toBeUndefined();
    expect(frame.printed).toBe(1);
    expect(frame.removed).toBe(0);
    frame.afterprint?.();
    expect(frame.removed).toBe(1);
    vi.runAllTimers();
    expect(frame.removed).toBe(1); // once only
  });

  it('removes the frame later when no afterprint comes', async () => {
    const frame = new FakeFrame();
    const done = printHtml('x', fakeDoc(frame), { keepMs: 1000 });
    frame.onload?.({} as Event);
    await done;
    vi.advanceTimersByTime(999);
    expect(frame.removed).toBe(0);
    vi.advanceTimersByTime(1);
    expect(frame.removed).toBe(1);
  });

  it('rejects (for the fallback) when printing throws', async () => {
    const frame = new FakeFrame(true);
    const done = printHtml('x', fakeDoc(frame));
    frame.onload?.({} as Event);
    await expect(done).rejects.toThrow('no printing here');
    expect(frame.removed).toBe(1);
  });

  it('rejects when the frame has no window', async () => {
    const frame = new FakeFrame(false, false);
    const done = printHtml('x', fakeDoc(frame));
    frame.onload?.({} as Event);
    await expect(done).rejects.toThrow();
    expect(frame.removed).toBe(1);
  });

  it('rejects when the page never loads', async () => {
    const frame = new FakeFrame();
    const done = printHtml('x', fakeDoc(frame), { loadTimeoutMs: 500 });
    vi.advanceTimersByTime(500);
    await expect(done).rejects.toThrow();
    expect(frame.removed).toBe(1);
    frame.onload?.({} as Event); // too late: nothing printed
    expect(frame.printed).toBe(0);
  });
});

// ---------------------------------------------------------------- API wrappers

describe('reportsApi', () => {
  const mocked = vi.mocked(invoke);
  beforeEach(() => {
    mocked.mockReset();
    mocked.mockResolvedValue(null);
  });
  afterEach(() => onSignedOut(null));

  it('calls the contract commands with camelCase arguments', async () => {
    const approval = { userId: 3, pin: '1234' };
    await reportsApi.dayReport(null);
    await reportsApi.dayReport('2026-11-22');
    await reportsApi.rangeReport('2026-11-16', '2026-11-22');
    await reportsApi.exportCsv('refunds', '2026-11-16', '2026-11-22');
    await reportsApi.shiftStatus();
    await reportsApi.openShift(null);
    await reportsApi.openShift('200');
    await reportsApi.closeShift(approval, null);
    await reportsApi.shiftReport(7);
    await reportsApi.zReports(50);
    await reportsApi.zReportHtml(7);
    expect(mocked.mock.calls).toEqual([
      ['day_report', { date: null }],
      ['day_report', { date: '2026-11-22' }],
      ['range_report', { from: '2026-11-16', to: '2026-11-22' }],
      ['export_csv', { kind: 'refunds', from: '2026-11-16', to: '2026-11-22' }],
      ['shift_status', undefined],
      ['open_shift', { openingCashText: null }],
      ['open_shift', { openingCashText: '200' }],
      ['close_shift', { approval, reason: null }],
      ['shift_report', { shiftId: 7 }],
      ['z_reports', { limit: 50 }],
      ['z_report_html', { shiftId: 7 }],
    ]);
  });

  it("passes the core's rejection through and shows its message as is", async () => {
    const err = { code: 'unresolved', message: '有 2 笔未完成，请填写原因' };
    mocked.mockRejectedValueOnce(err);
    const e = await reportsApi.closeShift({ userId: 1, pin: '0000' }, null).catch((x: unknown) => x);
    expect(e).toBe(err);
    expect(errorCode(e)).toBe('unresolved');
    expect(errorText(e, 'lost')).toBe('有 2 笔未完成，请填写原因');
    expect(errorCode(new Error('ipc'))).toBeNull();
    expect(errorText(new Error('ipc'), 'lost')).toBe('lost');
    expect(errorText('a string', 'lost')).toBe('lost');
  });

  it('rejects with CoreUnreachable when there is no core, shown as the fallback line', async () => {
    mocked.mockRejectedValueOnce(new Error('no ipc'));
    const e = await reportsApi.dayReport(null).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CoreUnreachable);
    expect(errorCode(e)).toBeNull();
    expect(errorText(e, 'lost')).toBe('lost');
  });

  it('a signed_out rejection of a report or shift command brings back the sign-in screen', async () => {
    const listener = vi.fn();
    onSignedOut(listener);
    const signedOut = { code: 'signed_out', message: '请先登录' };
    const calls = [
      () => reportsApi.dayReport(null),
      () => reportsApi.rangeReport('2026-11-16', '2026-11-22'),
      () => reportsApi.exportCsv('payments', '2026-11-16', '2026-11-22'),
      () => reportsApi.shiftStatus(),
      () => reportsApi.openShift(null),
      () => reportsApi.closeShift({ userId: 1, pin: '0000' }, 'why'),
      () => reportsApi.shiftReport(7),
      () => reportsApi.zReports(50),
      () => reportsApi.zReportHtml(7),
    ];
    for (const [i, run] of calls.entries()) {
      mocked.mockRejectedValueOnce(signedOut);
      await expect(run()).rejects.toBe(signedOut);
      expect(listener).toHaveBeenCalledTimes(i + 1);
    }
    // any other rejection leaves the screen alone
    mocked.mockRejectedValueOnce({ code: 'shift_open', message: '已有班次' });
    await expect(reportsApi.openShift(null)).rejects.toEqual({ code: 'shift_open', message: '已有班次' });
    expect(listener).toHaveBeenCalledTimes(calls.length);
  });
});

// ---------------------------------------------------------------- texts

describe('reports texts', () => {
  it('zh and en have the same keys', () => {
    expect(Object.keys(reportDictionaries.en).sort()).toEqual(Object.keys(reportDictionaries.zh).sort());
  });

  it('has no empty text and the same placeholders in both languages', () => {
    const holes = (s: string) => (s.match(/\{[a-z]+\}/gi) ?? []).sort();
    for (const key of Object.keys(reportDictionaries.zh) as (keyof typeof reportDictionaries.zh)[]) {
      expect(reportDictionaries.zh[key].trim(), `zh.${key}`).not.toBe('');
      expect(reportDictionaries.en[key].trim(), `en.${key}`).not.toBe('');
      expect(holes(reportDictionaries.en[key]), key).toEqual(holes(reportDictionaries.zh[key]));
    }
  });

  it('fills placeholders (states are named by the core, never here)', () => {
    expect(rt('zh', 'zTitle', { n: 12 })).toBe('Z 报表 第 12 号');
    expect(rt('en', 'lastDays', { n: 7 })).toBe('Last 7 days');
    expect(rt('en', 'refundsValue', { n: 2, amount: '3.00' })).toBe('2 · ¥3.00');
    const keys = Object.keys(reportDictionaries.zh);
    expect(keys.filter((k) => /state_/.test(k))).toEqual([]);
  });
});

// ---------------------------------------------------------------- no money arithmetic

describe('the reports code computes no money', () => {
  it('has no division or multiplication by 100 and no toFixed', () => {
    const root = new URL('.', import.meta.url).pathname;
    const dir = join(root, 'components', 'reports');
    const files = [
      join(root, 'reports.ts'),
      join(root, 'reportsApi.ts'),
      join(root, 'reportsI18n.ts'),
      ...readdirSync(dir).map((f) => join(dir, f)),
    ];
    expect(files.length).toBeGreaterThan(6);
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      expect(text, f).not.toMatch(/[/*]\s*100\b|\btoFixed\b|\bparseFloat\b|\bparseInt\b|\bNumber\s*\(/);
    }
  });
});
