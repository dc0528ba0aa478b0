// The command wrappers: argument names as the contract has them, and `signed_out` noticed for
// every command.
import { afterEach, describe, expect, it, vi } from 'vitest';

const invoke = vi.hoisted(() => vi.fn());
vi.mock('@tauri-apps/api/core', () => ({ invoke }));
const events = vi.hoisted(() => ({
  handlers: new Map<string, (e: { payload: unknown }) => void>(),
  unlistened: [] as string[],
  fail: null as string | null,
}));
vi.mock('@tauri-apps/api/event', () => ({
  listen: vi.fn(async (name: string, handler: (e: { payload: unknown }) => void) => {
    if (events.fail === name) throw new Error('no ipc');
    events.handlers.set(name, handler);
    return () => events.unlistened.push(name);
  }),
}));

import { api, call, CoreUnreachable, onSignedOut, subscribe } from './api';
import { chargeFixture, paymentFixture, scannersFixture } from './testFixtures';

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

describe('charges, kiosk and display commands', () => {
  it('send the contract’s arguments', async () => {
    invoke.mockResolvedValue(null);
    await api.cancelCharge('CH0001');
    expect(invoke).toHaveBeenLastCalledWith('cancel_charge', { id: 'CH0001' });
    await api.displayBootstrap();
    expect(invoke).toHaveBeenLastCalledWith('display_bootstrap', undefined);
    const items = [
      { id: 'noodles', qty: 2 },
      { id: 'tea', qty: 1 },
    ];
    await api.kioskQuote(items);
    expect(invoke).toHaveBeenLastCalledWith('kiosk_quote', { items });
    await api.kioskOrder(items);
    expect(invoke).toHaveBeenLastCalledWith('kiosk_order', { items });
    const approval = { userId: 1, pin: '1234' };
    await api.leaveKiosk(approval);
    expect(invoke).toHaveBeenLastCalledWith('leave_kiosk', { approval });
  });

  it('pass `charge` to start_qr and arm_scan only when collecting a charge', async () => {
    invoke.mockResolvedValue(null);
    await api.startQr('lakala', '12.34', 'WECHAT');
    expect(invoke).toHaveBeenLastCalledWith('start_qr', { channel: 'lakala', amountText: '12.34', method: 'WECHAT' });
    await api.startQr('lakala', '', null, 'CH0001');
    expect(invoke).toHaveBeenLastCalledWith('start_qr', { channel: 'lakala', amountText: '', method: null, charge: 'CH0001' });
    await api.armScan('abc', '8');
    expect(invoke).toHaveBeenLastCalledWith('arm_scan', { channel: 'abc', amountText: '8' });
    await api.armScan('abc', '', 'CH0001');
    expect(invoke).toHaveBeenLastCalledWith('arm_scan', { channel: 'abc', amountText: '', charge: 'CH0001' });
    await api.armScan('abc', '8', null);
    expect(invoke).toHaveBeenLastCalledWith('arm_scan', { channel: 'abc', amountText: '8' });
  });
});

describe('subscribe', () => {
  afterEach(() => {
    events.handlers.clear();
    events.unlistened = [];
    events.fail = null;
  });

  it('listens to the events it has handlers for, charge-update and language included', async () => {
    const onUpdate = vi.fn();
    const onCharge = vi.fn();
    const onLanguage = vi.fn();
    const stop = await subscribe({ onUpdate, onCharge, onLanguage });
    expect([...events.handlers.keys()].sort()).toEqual(['charge-update', 'language', 'payment-update']);
    const charge = chargeFixture();
    events.handlers.get('charge-update')?.({ payload: charge });
    expect(onCharge).toHaveBeenCalledWith(charge);
    events.handlers.get('language')?.({ payload: { lang: 'en' } });
    expect(onLanguage).toHaveBeenCalledWith({ lang: 'en' });
    const view = paymentFixture();
    events.handlers.get('payment-update')?.({ payload: view });
    expect(onUpdate).toHaveBeenCalledWith(view);
    stop();
    expect(events.unlistened.sort()).toEqual(['charge-update', 'language', 'payment-update']);
  });

  it('undoes what it listened to and says the core is unreachable when listening fails', async () => {
    events.fail = 'charge-update';
    await expect(subscribe({ onUpdate: vi.fn(), onCharge: vi.fn() })).rejects.toBeInstanceOf(CoreUnreachable);
    expect(events.unlistened).toEqual(['payment-update']);
  });
});
