// The command wrappers: argument names as the contract has them, and `signed_out` noticed for
// every command.
import { afterEach, describe, expect, it, vi } from 'vitest';

const invoke = vi.hoisted(() => vi.fn());
vi.mock('@tauri-apps/api/core', () => ({ invoke }));

import { api, call, CoreUnreachable, onSignedOut } from './api';
import { scannersFixture } from './testFixtures';

afterEach(() => {
  invoke.mockReset();
  onSignedOut(null);
});

describe('signed_out', () => {
  it('tells the listener and still rejects with the core’s error', async () => {
    const listener = vi.fn();
    onSignedOut(listener);
    invoke.mockRejectedValueOnce({ code: 'signed_out', message: '请先登录' });
    await expect(api.today()).rejects.toEqual({ code: 'signed_out', message: '请先登录' });
    expect(listener).toHaveBeenCalledTimes(1);

    invoke.mockRejectedValueOnce({ code: 'amount', message: '金额必须大于 0' });
    await expect(call('check_amount', { amountText: '0' })).rejects.toEqual({ code: 'amount', message: '金额必须大于 0' });
    invoke.mockRejectedValueOnce(new Error('no ipc'));
    await expect(call('today')).rejects.toBeInstanceOf(CoreUnreachable);
    expect(listener).toHaveBeenCalledTimes(1);
  });
});

describe('manager commands', () => {
  it('send the contract’s arguments', async () => {
    invoke.mockResolvedValue(null);
    const approval = { userId: 1, pin: '1234' };
    await api.signIn(2, '0000');
    expect(invoke).toHaveBeenLastCalledWith('sign_in', { userId: 2, pin: '0000' });
    await api.signOut();
    expect(invoke).toHaveBeenLastCalledWith('sign_out', undefined);
    await api.lock();
    expect(invoke).toHaveBeenLastCalledWith('lock', undefined);
    await api.createFirstManager('王店长', '1234');
    expect(invoke).toHaveBeenLastCalledWith('create_first_manager', { name: '王店长', pin: '1234' });
    await api.addUser(approval, '李收银', 'clerk', '5678');
    expect(invoke).toHaveBeenLastCalledWith('add_user', { approval, name: '李收银', role: 'clerk', pin: '5678' });
    await api.paymentDetail('T1');
    expect(invoke).toHaveBeenLastCalledWith('payment_detail', { id: 'T1' });
    await api.refund(approval, 'T1', '2.50', '顾客退货');
    expect(invoke).toHaveBeenLastCalledWith('refund', { approval, paymentId: 'T1', amountText: '2.50', reason: '顾客退货' });
    await api.forceOutcome(approval, 'T1', 'not_paid', '通道记录未收款');
    expect(invoke).toHaveBeenLastCalledWith('force_outcome', {
      approval,
      paymentId: 'T1',
      outcome: 'not_paid',
      reason: '通道记录未收款',
    });
    await api.resolveRefund(approval, 'R1', 'succeeded', '通道已退');
    expect(invoke).toHaveBeenLastCalledWith('resolve_refund', { approval, refundId: 'R1', outcome: 'succeeded', reason: '通道已退' });
    const settings = scannersFixture();
    await api.saveScannerSettings(approval, settings);
    expect(invoke).toHaveBeenLastCalledWith('save_scanner_settings', { approval, settings });
    await api.auditLog({ action: 'refund', limit: 100 });
    expect(invoke).toHaveBeenLastCalledWith('audit_log', { fromMs: null, toMs: null, action: 'refund', user: null, limit: 100 });
  });
});
