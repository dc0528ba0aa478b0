// The manager area's own tabs: the audit log's filters and paging, adding a user, another day's
// unfinished payments.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Approval, WithApproval } from './api';

const api = vi.hoisted(() => ({
  auditLog: vi.fn(),
  users: vi.fn(),
  addUser: vi.fn(),
  searchPayments: vi.fn(),
  changeUser: vi.fn(),
}));
const reportsApi = vi.hoisted(() => ({ dayReport: vi.fn() }));
const printApi = vi.hoisted(() => ({ settings: vi.fn() }));
vi.mock('./printApi', async (importOriginal) => ({ ...(await importOriginal<typeof import('./printApi')>()), printApi }));
vi.mock('./api', async (importOriginal) => ({ ...(await importOriginal<typeof import('./api')>()), api }));
vi.mock('./reportsApi', async (importOriginal) => ({ ...(await importOriginal<typeof import('./reportsApi')>()), reportsApi }));

import { AUDIT_PAGE, AuditState, DayPayments, ManagerArea, UsersState, auditQuery, dayEndMs, dayStartMs } from './manager.svelte';
import { PrinterSettings, PrintQueue } from './printing.svelte';
import { auditFixture, clerkUser, managerUser, paymentFixture } from './testFixtures';

const approval: Approval = { userId: 1, pin: '1234' };
const TEXTS: Record<string, string> = {
  dateInvalid: '请输入有效的日期',
  dateOrder: '开始日期不能晚于结束日期',
  nameRequired: '请输入姓名',
  pinFormat: 'PIN 为 4–8 位数字',
  managerPinShort: '店长 PIN 为 6–8 位数字',
  pinMismatch: '两次输入的 PIN 不一致',
};

function deps(answer: 'approve' | 'cancel' = 'approve') {
  const withApproval = vi.fn(async (_action: string, call: (a: Approval) => Promise<unknown>) =>
    answer === 'approve' ? call(approval) : null,
  );
  return {
    withApproval: withApproval as unknown as WithApproval,
    spy: withApproval,
    t: (k: string) => TEXTS[k] ?? k,
    errorText: (e: unknown) => (e as { message: string }).message,
  };
}

beforeEach(() => {
  for (const f of [...Object.values(api), ...Object.values(reportsApi)]) f.mockReset();
});

describe('dates', () => {
  it('a day runs from local midnight to the last millisecond before the next', () => {
    const from = dayStartMs('2025-11-22')!;
    const to = dayEndMs('2025-11-22')!;
    expect(new Date(from).getHours()).toBe(0);
    expect(new Date(from).getDate()).toBe(22);
    expect(to + 1 - from).toBe(24 * 3600 * 1000);
    expect(dayStartMs('2025-02-30')).toBeNull();
    expect(dayEndMs('')).toBeNull();
  });

  it('turns the audit filter into audit_log arguments', () => {
    expect(auditQuery({ action: '', user: '', from: '', to: '' }, 100)).toEqual({
      ok: true,
      query: { fromMs: null, toMs: null, action: null, user: null, limit: 100 },
    });
    const q = auditQuery({ action: 'refund', user: '王店长', from: '2025-11-01', to: '2025-11-22' }, 200);
    expect(q).toEqual({
      ok: true,
      query: { fromMs: dayStartMs('2025-11-01'), toMs: dayEndMs('2025-11-22'), action: 'refund', user: '王店长', limit: 200 },
    });
    expect(auditQuery({ action: '', user: '', from: '2025-11-22', to: '2025-11-01' }, 100)).toEqual({ ok: false, problem: 'dateOrder' });
    expect(auditQuery({ action: '', user: '', from: '2025-13-01', to: '' }, 100)).toEqual({ ok: false, problem: 'dateInvalid' });
  });
});

describe('audit log', () => {
  it('reads a page newest first, and more with a bigger page while pages come back full', async () => {
    const page = Array.from({ length: AUDIT_PAGE }, (_, i) => auditFixture({ seq: i + 1, atMs: 1_000_000 + i }));
    api.auditLog.mockResolvedValueOnce(page);
    const a = new AuditState(deps());
    a.filter.action = 'refund';
    await a.load();
    expect(api.auditLog).toHaveBeenLastCalledWith({ fromMs: null, toMs: null, action: 'refund', user: null, limit: AUDIT_PAGE });
    expect(a.entries[0].seq).toBe(AUDIT_PAGE); // newest first
    expect(a.more).toBe(true);
    api.auditLog.mockResolvedValueOnce([...page, auditFixture({ seq: 0, atMs: 1 })]);
    await a.loadMore();
    expect(api.auditLog).toHaveBeenLastCalledWith(expect.objectContaining({ limit: 2 * AUDIT_PAGE }));
    expect(a.entries).toHaveLength(AUDIT_PAGE + 1);
    expect(a.more).toBe(false);
    await a.loadMore();
    expect(api.auditLog).toHaveBeenCalledTimes(2);
    api.auditLog.mockResolvedValueOnce([]);
    await a.load(); // a new filter starts from one page
    expect(api.auditLog).toHaveBeenLastCalledWith(expect.objectContaining({ limit: AUDIT_PAGE }));
  });

  it('does not ask with dates that cannot be used; shows the core’s message', async () => {
    const a = new AuditState(deps());
    a.filter.from = '2025-11-22';
    a.filter.to = '2025-11-01';
    await a.load();
    expect(a.error).toBe('开始日期不能晚于结束日期');
    expect(api.auditLog).not.toHaveBeenCalled();
    a.filter.to = '';
    api.auditLog.mockRejectedValueOnce({ code: 'forbidden', message: '只有店长可以查看' });
    await a.load();
    expect(a.error).toBe('只有店长可以查看');
    expect(a.loading).toBe(false);
  });
});

describe('users', () => {
  it('disables, unlocks and resets a PIN with a manager’s approval that names the user', async () => {
    const d = deps();
    const onUsers = vi.fn();
    const u = new UsersState(d, onUsers);
    api.users.mockResolvedValueOnce([managerUser, clerkUser]);
    await u.load();
    const off = { ...clerkUser, disabled: true };
    api.changeUser.mockResolvedValueOnce([managerUser, off]);
    await u.change(clerkUser.id, 'disable');
    expect(d.spy).toHaveBeenCalledWith('manage_users', expect.any(Function), clerkUser.name);
    expect(api.changeUser).toHaveBeenCalledWith(approval, clerkUser.id, 'disable');
    expect(onUsers).toHaveBeenLastCalledWith([managerUser, off]);
    // A manager's new PIN has six digits at least, typed twice alike; nothing is sent otherwise.
    u.startReset(managerUser.id);
    u.resetInput('pin', '1357');
    u.resetInput('pinAgain', '1357');
    await u.resetPin();
    expect(u.changeError).toBe('店长 PIN 为 6–8 位数字');
    u.resetInput('pin', '135790');
    u.resetInput('pinAgain', '135790');
    api.changeUser.mockResolvedValueOnce([managerUser, off]);
    await u.resetPin();
    expect(api.changeUser).toHaveBeenLastCalledWith(approval, managerUser.id, 'reset_pin', '135790');
    expect(u.reset).toBeNull();
  });

  it('adds a user with a manager’s approval after checking the name and the PIN typed twice', async () => {
    const d = deps();
    const onUsers = vi.fn();
    const u = new UsersState(d, onUsers);
    api.users.mockResolvedValueOnce([managerUser]);
    await u.load();
    expect(u.users).toEqual([managerUser]);
    await u.add();
    expect(u.formError).toBe('请输入姓名');
    u.form.name = '李收银';
    u.input('pin', '12a34');
    u.input('pinAgain', '1235');
    await u.add();
    expect(u.form.pin).toBe('1234');
    expect(u.formError).toBe('两次输入的 PIN 不一致');
    expect(d.spy).not.toHaveBeenCalled();
    u.input('pinAgain', '1234');
    api.addUser.mockResolvedValueOnce([managerUser, clerkUser]);
    await u.add();
    expect(d.spy).toHaveBeenCalledWith('add_user', expect.any(Function));
    expect(api.addUser).toHaveBeenCalledWith(approval, '李收银', 'clerk', '1234');
    expect(u.users).toEqual([managerUser, clerkUser]);
    expect(onUsers).toHaveBeenLastCalledWith([managerUser, clerkUser]);
    expect(u.form).toEqual({ name: '', role: 'clerk', pin: '', pinAgain: '' });
    expect(u.added).toBe('李收银');
  });

  it('a refused user shows the core’s message and keeps the form', async () => {
    const u = new UsersState(deps(), vi.fn());
    u.form = { name: '王店长', role: 'manager', pin: '1234', pinAgain: '1234' };
    // A manager's new PIN has 6–8 digits: said before any call.
    await u.add();
    expect(u.formError).toBe('店长 PIN 为 6–8 位数字');
    expect(api.addUser).not.toHaveBeenCalled();
    u.form = { name: '王店长', role: 'manager', pin: '123456', pinAgain: '123456' };
    api.addUser.mockRejectedValueOnce({ code: 'name', message: '已有同名用户' });
    await u.add();
    expect(u.formError).toBe('已有同名用户');
    expect(u.form.name).toBe('王店长');
    expect(u.busy).toBe(false);
  });
});

describe('payments of a day', () => {
  it('the current business day needs no call; another day reads its unfinished payments', async () => {
    const p = new DayPayments(deps());
    await p.pick('');
    expect(reportsApi.dayReport).not.toHaveBeenCalled();
    reportsApi.dayReport.mockResolvedValueOnce({ unresolved: [paymentFixture({ state: 'unknown' })] });
    await p.pick('2025-11-20');
    expect(reportsApi.dayReport).toHaveBeenCalledWith('2025-11-20');
    expect(p.unresolved).toHaveLength(1);
    await p.pick('2025-11-31');
    expect(p.error).toBe('请输入有效的日期');
    expect(reportsApi.dayReport).toHaveBeenCalledTimes(1);
  });

  it('searches every day by what the manager typed; an empty search goes back to the lists', async () => {
    const p = new DayPayments(deps());
    api.searchPayments.mockResolvedValueOnce([paymentFixture()]);
    await p.search(' 0010 ');
    expect(api.searchPayments).toHaveBeenCalledWith('0010');
    expect(p.found).toHaveLength(1);
    await p.search('');
    expect(p.found).toBeNull();
    expect(api.searchPayments).toHaveBeenCalledTimes(1);
  });

  it('the area opens the audit log, the users and the printer when their tab is shown', async () => {
    api.auditLog.mockResolvedValue([]);
    api.users.mockResolvedValue([managerUser]);
    printApi.settings.mockResolvedValue({ printer: null, ports: [], usb: [] });
    const onUsers = vi.fn();
    const printDeps = { ...deps(), t: (k: string) => k, showNotice: vi.fn() };
    const m = new ManagerArea(deps(), onUsers, new PrinterSettings(printDeps, new PrintQueue(printDeps)));
    m.show('audit');
    m.show('users');
    await new Promise((r) => setTimeout(r, 0));
    expect(m.tab).toBe('users');
    expect(api.auditLog).toHaveBeenCalledTimes(1);
    expect(onUsers).toHaveBeenCalledWith([managerUser]);
    expect(printApi.settings).not.toHaveBeenCalled();
    m.show('printer');
    await new Promise((r) => setTimeout(r, 0));
    expect(printApi.settings).toHaveBeenCalledTimes(1);
    expect(m.printer.form?.connection).toBe('none');
  });
});
