// The chain's window state: the Chain tab shows only where the core says chain reports are on,
// loads the range asked for and exports what it shows; a bad range asks nothing of the core; the
// status line keeps the core's last answer. Nothing is computed here.
import { beforeEach, describe, expect, it, vi } from 'vitest';

const chainApi = vi.hoisted(() => ({ syncStatus: vi.fn(), report: vi.fn(), exportCsv: vi.fn() }));
vi.mock('./chainApi', async (importOriginal) => ({ ...(await importOriginal<typeof import('./chainApi')>()), chainApi }));

import { ChainState, SyncLine, SYNC_POLL_MS } from './chain.svelte';
import type { ChainView, SyncView } from './chainApi';
import { managerTabs } from './manager.svelte';
import { reportDictionaries } from './reportsI18n';

const deps = {
  withApproval: vi.fn(),
  t: (k: string) => k,
  errorText: (e: unknown) => (e as { message: string }).message,
};

const money = (fen: number, text: string) => ({ fen, text });
const view = (from: string, to: string): ChainView => ({
  from,
  to,
  totals: {
    count: 3,
    gross: money(3000, '30.00'),
    refundCount: 1,
    refunds: money(500, '5.00'),
    net: money(2500, '25.00'),
    averageTicket: money(1000, '10.00'),
    byStore: [],
    byTill: [],
    byChannel: [],
    byWallet: [],
  },
  daily: [],
  unresolved: [],
  tills: [],
  readAtText: '2026-12-04 10:00:00',
});

beforeEach(() => {
  for (const m of Object.values(chainApi)) m.mockReset();
});

describe('the Chain tab', () => {
  it('is shown only on a till whose chain reports are on', () => {
    expect(managerTabs(false)).not.toContain('chain');
    expect(managerTabs(true)).toContain('chain');
    expect(managerTabs(true).filter((t) => t !== 'chain')).toEqual(managerTabs(false));
  });

  it('loads the range asked for and shows the core answer as it came', async () => {
    const c = new ChainState(deps);
    c.from = '2026-12-01';
    c.to = '2026-12-03';
    chainApi.report.mockResolvedValue(view('2026-12-01', '2026-12-03'));
    await c.load();
    expect(chainApi.report).toHaveBeenCalledWith('2026-12-01', '2026-12-03');
    expect(c.view?.totals.net.text).toBe('25.00');
    expect(c.error).toBeNull();
  });

  it('asks nothing for a range the user typed wrong', async () => {
    const c = new ChainState(deps);
    c.from = '2026-12-05';
    c.to = '2026-12-01';
    expect(c.problem).toBe('order');
    await c.load();
    expect(chainApi.report).not.toHaveBeenCalled();
  });

  it('keeps the figures shown and says why when the server cannot be read', async () => {
    const c = new ChainState(deps);
    chainApi.report.mockResolvedValueOnce(view(c.from, c.to));
    await c.load();
    chainApi.report.mockRejectedValueOnce({ code: 'chain', message: '连不上总部数据库' });
    await c.load();
    expect(c.error).toBe('连不上总部数据库');
    expect(c.view).not.toBeNull();
  });

  it('exports the range shown, not one typed since', async () => {
    const c = new ChainState(deps);
    c.from = '2026-12-01';
    c.to = '2026-12-02';
    chainApi.report.mockResolvedValue(view('2026-12-01', '2026-12-02'));
    await c.load();
    c.to = '2026-12-09';
    chainApi.exportCsv.mockResolvedValue({ path: '/x/chain_payments.csv', rows: 7 });
    await c.exportCsv('payments', null);
    expect(chainApi.exportCsv).toHaveBeenCalledWith('payments', '2026-12-01', '2026-12-02', null);
    expect(c.exported).toEqual({ path: '/x/chain_payments.csv', rows: 7, kind: 'payments' });
  });

  it('has every text in both languages', () => {
    for (const key of Object.keys(reportDictionaries.zh)) {
      expect(reportDictionaries.en[key as keyof typeof reportDictionaries.en], key).toBeTruthy();
    }
  });
});

describe('the sync status line', () => {
  it('reads the core every few seconds until stopped', async () => {
    vi.useFakeTimers();
    const status: SyncView = {
      tillId: 'SH001/T01',
      server: 'hq:5432/chain',
      chainReports: false,
      phase: 'offline',
      label: '离线 2 小时',
      syncedTo: null,
      syncedToText: null,
      backlog: 12,
      problem: null,
    };
    chainApi.syncStatus.mockResolvedValue(status);
    const line = new SyncLine();
    const stop = line.watch();
    await vi.advanceTimersByTimeAsync(SYNC_POLL_MS * 2);
    expect(chainApi.syncStatus).toHaveBeenCalledTimes(3);
    expect(line.view?.label).toBe('离线 2 小时');
    stop();
    await vi.advanceTimersByTimeAsync(SYNC_POLL_MS * 3);
    expect(chainApi.syncStatus).toHaveBeenCalledTimes(3);
    vi.useRealTimers();
  });
});
