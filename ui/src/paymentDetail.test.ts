// A payment's detail: the refund form, forcing an outcome and resolving a refund, each through the
// manager's approval (a fake `withApproval` here), and what is checked before asking.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Approval, WithApproval } from './api';

const api = vi.hoisted(() => ({
  paymentDetail: vi.fn(),
  refund: vi.fn(),
  forceOutcome: vi.fn(),
  resolveRefund: vi.fn(),
  checkAmount: vi.fn(),
}));
vi.mock('./api', async (importOriginal) => ({ ...(await importOriginal<typeof import('./api')>()), api }));

import { PaymentDetailState } from './paymentDetail.svelte';
import { detailFixture, paymentFixture, refundFixture } from './testFixtures';

const approval: Approval = { userId: 1, pin: '1234' };
const TEXTS: Record<string, string> = {
  reasonRequired: '请填写原因',
  refundAmountRequired: '请输入退款金额',
  approvalWhat: '¥{amount} · 订单 …{order}',
};

function detail(answer: 'approve' | 'cancel' = 'approve') {
  const withApproval = vi.fn(async (_action: string, call: (a: Approval) => Promise<unknown>) =>
    answer === 'approve' ? call(approval) : null,
  );
  const onChanged = vi.fn();
  const d = new PaymentDetailState('T0012511221403250001', {
    withApproval: withApproval as unknown as WithApproval,
    t: (k, vars) => (TEXTS[k] ?? k).replace(/\{(\w+)\}/g, (_, n: string) => String(vars?.[n] ?? '')),
    errorText: (e) => (e as { message: string }).message,
    onChanged,
  });
  return { d, withApproval, onChanged };
}

beforeEach(() => {
  for (const f of Object.values(api)) f.mockReset();
  // the core formats a typed amount ("5" → "5.00")
  api.checkAmount.mockImplementation(async (t: string) => ({ amountText: Number.isInteger(Number(t)) ? `${t}.00` : t }));
});

describe('payment detail', () => {
  it('loads the detail and prefills the refund with what can still be refunded', async () => {
    api.paymentDetail.mockResolvedValueOnce(detailFixture({ refundableText: '9.99' }));
    const { d } = detail();
    expect(d.busy).toBe('load');
    await d.load();
    expect(api.paymentDetail).toHaveBeenCalledWith('T0012511221403250001');
    expect(d.busy).toBeNull();
    expect(d.refundAmount).toBe('9.99');
  });

  it('shows why it cannot be read', async () => {
    api.paymentDetail.mockRejectedValueOnce({ code: 'not_found', message: '没有这笔收款' });
    const { d } = detail();
    await d.load();
    expect(d.error).toBe('没有这笔收款');
    expect(d.detail).toBeNull();
  });

  it('a refund needs an amount and a reason before the PIN prompt', async () => {
    api.paymentDetail.mockResolvedValueOnce(detailFixture());
    const { d, withApproval } = detail();
    await d.load();
    d.refundAmount = ' ';
    await d.refund();
    expect(d.error).toBe('请输入退款金额');
    d.refundAmount = '5';
    d.refundReason = '  ';
    await d.refund();
    expect(d.error).toBe('请填写原因');
    expect(withApproval).not.toHaveBeenCalled();
  });

  it('refunds the amount as typed with the reason; the answer is the new detail', async () => {
    api.paymentDetail.mockResolvedValueOnce(detailFixture());
    const { d, withApproval, onChanged } = detail();
    await d.load();
    d.refundAmount = '5';
    d.refundReason = '重复收款';
    const after = detailFixture({ refunds: [refundFixture({ amountText: '5.00' })], refundableText: '7.34' });
    api.refund.mockResolvedValueOnce(after);
    await d.refund();
    // the PIN prompt says what it approves: the amount and the order's last four
    expect(withApproval).toHaveBeenCalledWith('refund', expect.any(Function), '¥5.00 · 订单 …0001');
    expect(api.refund).toHaveBeenCalledWith(approval, 'T0012511221403250001', '5', '重复收款');
    expect(d.detail).toEqual(after);
    expect(d.refundAmount).toBe('7.34');
    expect(d.refundReason).toBe('');
    expect(onChanged).toHaveBeenCalledWith(after);
    expect(d.busy).toBeNull();
  });

  it('a refused refund shows the core’s message and keeps the form; a cancelled prompt changes nothing', async () => {
    api.paymentDetail.mockResolvedValueOnce(detailFixture());
    const { d, onChanged } = detail();
    await d.load();
    d.refundAmount = '99';
    d.refundReason = '顾客退货';
    api.refund.mockRejectedValueOnce({ code: 'refund_amount', message: '最多可退 ¥12.34' });
    await d.refund();
    expect(d.error).toBe('最多可退 ¥12.34');
    expect(d.refundAmount).toBe('99');
    expect(onChanged).not.toHaveBeenCalled();

    const cancelled = detail('cancel');
    api.paymentDetail.mockResolvedValueOnce(detailFixture());
    await cancelled.d.load();
    cancelled.d.refundReason = '顾客退货';
    await cancelled.d.refund();
    expect(api.refund).toHaveBeenCalledTimes(1);
    expect(cancelled.d.error).toBeNull();
    expect(cancelled.onChanged).not.toHaveBeenCalled();
  });

  it('records a payment’s outcome with a reason, only when it can be forced', async () => {
    api.paymentDetail.mockResolvedValueOnce(detailFixture());
    const { d, withApproval } = detail();
    await d.load();
    d.forceReason = '通道记录已收款';
    await d.force('paid');
    expect(withApproval).not.toHaveBeenCalled(); // canForce is false

    api.paymentDetail.mockResolvedValueOnce(detailFixture({ payment: paymentFixture({ state: 'unknown' }), canForce: true }));
    await d.load();
    d.forceReason = '';
    await d.force('not_paid');
    expect(d.error).toBe('请填写原因');
    d.forceReason = '通道记录未收款';
    api.forceOutcome.mockResolvedValueOnce(detailFixture({ payment: paymentFixture({ state: 'failed', final: true }), canForce: false }));
    await d.force('not_paid');
    expect(withApproval).toHaveBeenCalledWith('force_outcome', expect.any(Function), expect.stringContaining('订单 …0001'));
    expect(api.forceOutcome).toHaveBeenCalledWith(approval, 'T0012511221403250001', 'not_paid', '通道记录未收款');
    expect(d.detail?.payment.state).toBe('failed');
    expect(d.forceReason).toBe('');
  });

  it('resolves an unknown refund with its own reason', async () => {
    const unknown = refundFixture({ id: 'R1', state: 'unknown', canResolve: true });
    api.paymentDetail.mockResolvedValueOnce(detailFixture({ refunds: [unknown, refundFixture({ id: 'R2' })] }));
    const { d, withApproval } = detail();
    await d.load();
    d.resolveReasons.R2 = 'x';
    await d.resolve('R2', 'failed');
    expect(withApproval).not.toHaveBeenCalled(); // R2 cannot be resolved
    await d.resolve('R1', 'succeeded');
    expect(d.error).toBe('请填写原因');
    d.resolveReasons.R1 = '通道已退款';
    api.resolveRefund.mockResolvedValueOnce(detailFixture({ refunds: [{ ...unknown, state: 'succeeded', canResolve: false }] }));
    await d.resolve('R1', 'succeeded');
    expect(withApproval).toHaveBeenCalledWith('resolve_refund', expect.any(Function), expect.stringContaining('订单 …0001'));
    expect(api.resolveRefund).toHaveBeenCalledWith(approval, 'R1', 'succeeded', '通道已退款');
    expect(d.resolveReasons).toEqual({});
  });
});
