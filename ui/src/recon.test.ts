// The Reconciliation tab's state: the month moves, a run starts from the channel or a file, a
// difference needs a reason and a manager's PIN, and nothing is computed here.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Approval, WithApproval } from './api';

const reconApi = vi.hoisted(() => ({ month: vi.fn(), run: vi.fn(), reconcileNow: vi.fn(), resolve: vi.fn() }));
vi.mock('./reconApi', async (importOriginal) => ({ ...(await importOriginal<typeof import('./reconApi')>()), reconApi }));

import { ReconState } from './recon.svelte';
import { barPercent, rateText, shiftMonth, type MonthView, type RunDetailView } from './reconApi';
import { reconDictionaries } from './reconI18n';

const approval: Approval = { userId: 1, pin: '246813' };

function deps(answer: 'approve' | 'cancel' = 'approve') {
  const withApproval = vi.fn(async (_action: string, call: (a: Approval) => Promise<unknown>) =>
    answer === 'approve' ? call(approval) : null,
  );
  return {
    withApproval: withApproval as unknown as WithApproval,
    spy: withApproval,
    t: (k: string) => (k === 'reasonRequired' ? '请填写原因' : k),
    errorText: (e: unknown) => (e as { message: string }).message,
  };
}

const month: MonthView = {
  month: '2026-12',
  channels: [
    { id: 'alipay', name: '支付宝' },
    { id: 'wechat', name: '微信支付' },
  ],
  runs: [],
  days: [{ day: '2026-12-01', matchPermille: 995, unresolved: 1 }],
};

const run = (id: number, day = '2026-12-02'): RunDetailView => ({
  run: {
    id,
    channel: 'alipay',
    channelName: '支付宝',
    day,
    source: 'download',
    sourceText: '渠道账单',
    fileName: 'f.zip',
    fileSha256: 'ab',
    rows: 3,
    otherTillsRows: 0,
    matched: 2,
    matchedYuan: '20.00',
    refundsMatched: 0,
    refundsMatchedYuan: '0.00',
    feeYuan: '0.12',
    differences: 1,
    unresolved: 1,
    waiting: 0,
    matchPermille: 666,
    runBy: '王店长',
    atText: '2026-12-03 10:00',
  },
  differences: [
    {
      id: 7,
      kind: 'charged_not_paid',
      kindText: '渠道已扣款，账本未收款',
      explain: '',
      waiting: false,
      orderNo: 'T012612021000000001',
      refundNo: null,
      tradeNo: '2026',
      ledgerYuan: '66.00',
      channelYuan: '66.00',
      proposed: 'marked_paid',
      proposedText: '记为已收款（迟到）',
      resolution: null,
    },
  ],
});

beforeEach(() => {
  for (const f of Object.values(reconApi)) f.mockReset();
  reconApi.month.mockResolvedValue(month);
});

describe('reconciliation state', () => {
  it('loads the month and picks the first channel for the run form', async () => {
    const r = new ReconState(deps());
    await r.load();
    expect(reconApi.month).toHaveBeenCalledWith(r.month);
    expect(r.channel).toBe('alipay');
    expect(r.view?.days[0].matchPermille).toBe(995);
  });

  it('moves by months across a year', async () => {
    expect(shiftMonth('2026-12', 1)).toBe('2027-01');
    expect(shiftMonth('2026-01', -1)).toBe('2025-12');
    const r = new ReconState(deps());
    r.month = '2026-12';
    await r.moveMonth(-1);
    expect(reconApi.month).toHaveBeenLastCalledWith('2026-11');
  });

  it('runs from the channel or from a picked file, and shows the run', async () => {
    const r = new ReconState(deps());
    await r.load();
    r.day = '2026-12-02';
    reconApi.reconcileNow.mockResolvedValue(run(3));
    await r.runNow(null);
    expect(reconApi.reconcileNow).toHaveBeenCalledWith('alipay', '2026-12-02', null);
    expect(r.detail?.run.id).toBe(3);
    await r.runNow('/tmp/bill.zip');
    expect(reconApi.reconcileNow).toHaveBeenLastCalledWith('alipay', '2026-12-02', '/tmp/bill.zip');
  });

  it("shows the core's refusal (a bill not ready yet) and keeps what was shown", async () => {
    const r = new ReconState(deps());
    await r.load();
    reconApi.reconcileNow.mockRejectedValue({ code: 'not_ready', message: '渠道的对账单还没有生成' });
    await r.runNow(null);
    expect(r.error).toBe('渠道的对账单还没有生成');
    expect(r.running).toBe(false);
  });

  it('a difference needs a reason, then the PIN; a cancelled prompt changes nothing', async () => {
    const d = deps();
    const r = new ReconState(d);
    r.detail = run(3);
    expect(await r.resolve(7, 'x')).toBe(false);
    expect(r.error).toBe('请填写原因');
    expect(reconApi.resolve).not.toHaveBeenCalled();

    r.reasons[7] = '  账单显示已扣款 ';
    const done = run(3);
    done.differences[0] = { ...done.differences[0], proposed: null, resolution: { action: 'marked_paid', actionText: '记为已收款（迟到）', reason: '账单显示已扣款', by: '王店长', atText: '' } };
    reconApi.resolve.mockResolvedValue(done);
    expect(await r.resolve(7, '渠道已扣款 · T01')).toBe(true);
    expect(d.spy).toHaveBeenCalledWith('resolve_difference', expect.any(Function), '渠道已扣款 · T01');
    expect(reconApi.resolve).toHaveBeenCalledWith(approval, 7, 3, '账单显示已扣款');
    expect(r.detail?.differences[0].resolution?.by).toBe('王店长');

    const cancelled = new ReconState(deps('cancel'));
    cancelled.detail = run(4);
    cancelled.reasons[7] = 'x';
    expect(await cancelled.resolve(7, 'x')).toBe(false);
    expect(cancelled.detail?.run.id).toBe(4);
  });

  it('reads the month and the open run again (a language change)', async () => {
    const r = new ReconState(deps());
    r.detail = run(3);
    reconApi.run.mockResolvedValue(run(3));
    await r.reload();
    expect(reconApi.month).toHaveBeenCalledTimes(1);
    expect(reconApi.run).toHaveBeenCalledWith(3);
  });

  it("draws the core's per mille as it is", () => {
    expect([barPercent(null), barPercent(0), barPercent(995), barPercent(1000)]).toEqual([0, 4, 100, 100]);
    expect(barPercent(666)).toBe(67);
    expect([rateText(1000), rateText(995), rateText(0)]).toEqual(['100.0 %', '99.5 %', '0.0 %']);
  });

  it('has every text in both languages', () => {
    expect(Object.keys(reconDictionaries.en).sort()).toEqual(Object.keys(reconDictionaries.zh).sort());
  });
});
