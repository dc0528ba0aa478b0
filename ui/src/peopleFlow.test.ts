// Signing in, the first manager, signing out, the idle lock, `signed_out` from the core, the
// manager area and a payment's detail, against the real AppState with the core's commands mocked.
// Screens are rendered with Svelte's server renderer.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { render } from 'svelte/server';
import type { Bootstrap, ScanEvent } from './api';

vi.mock('./api', async (importOriginal) => (await import('./testApiMock')).mockApiModule(await importOriginal()));
vi.mock('./sounds', () => ({ playSound: vi.fn() }));

import { AppState, app } from './state.svelte';
import SignIn from './components/SignIn.svelte';
import Header from './components/Header.svelte';
import PinPrompt from './components/PinPrompt.svelte';
import PaymentDetail from './components/PaymentDetail.svelte';
import TodayList from './components/TodayList.svelte';
import ManagerArea from './components/manager/ManagerArea.svelte';
import {
  auditFixture,
  bootFixture,
  clerkUser,
  detailFixture,
  fakeKey,
  managerUser,
  paidFixture,
  paymentFixture,
  peopleFixture,
  refundFixture,
  sessionFixture,
  signInPeople,
  stubBrowser,
  todayFixture,
  wedgeScanInto,
} from './testFixtures';
import { apiMock as api, resetApiMock } from './testApiMock';

const press = (s: AppState, k: string, target: { tagName: string } | null = null) => {
  const ev = fakeKey(k, 0, target);
  s.onKeydown(ev as unknown as KeyboardEvent);
  return ev;
};
const settle = () => new Promise((r) => setTimeout(r, 0));

async function ready(b: Bootstrap, state: AppState = new AppState()): Promise<AppState> {
  api.bootstrap.mockResolvedValueOnce(b);
  await state.start();
  expect(state.status).toBe('ready');
  return state;
}

/** Signing in required, the clerk signed in. */
const signedIn = (p = {}) => bootFixture({ people: signInPeople({ session: sessionFixture(clerkUser), ...p }) });

/** Answers the open PIN prompt as manager 1 with PIN 1234. */
async function approve(s: AppState) {
  expect(s.approvals.prompt).not.toBeNull();
  s.approvals.pick(1);
  s.approvals.input('1234');
  await s.approvals.submit();
}

beforeEach(() => {
  stubBrowser();
  resetApiMock();
  api.today.mockResolvedValue(todayFixture());
  api.users.mockResolvedValue([managerUser, clerkUser]);
  api.signOut.mockResolvedValue(null);
  api.lock.mockResolvedValue(null);
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('the sign-in screen', () => {
  it('shows when signing in is required and nobody is; nothing else acts meanwhile', async () => {
    const s = await ready(bootFixture({ people: signInPeople() }));
    expect(s.people.screen).toBe(true);
    expect(api.today).not.toHaveBeenCalled();
    for (const k of ['5', 'F1', 'F2', 'F3', 'F9', 'F10']) press(s, k);
    await settle();
    expect(s.amount).toBe('');
    expect(s.people.form.pin).toBe('5'); // the digit went to the PIN
    expect(api.checkAmount).not.toHaveBeenCalled();
    expect(api.startQr).not.toHaveBeenCalled();
    expect(api.scannerSettings).not.toHaveBeenCalled();
    expect(s.settings).toBeNull();
    expect(s.manager).toBeNull();
    press(s, 'Enter');
    expect(s.people.form.error).toBe('请选择用户');
    expect(api.signIn).not.toHaveBeenCalled();
  });

  it('not shown when signing in is not required', async () => {
    const s = await ready(bootFixture({ people: peopleFixture({ users: [managerUser] }) }));
    expect(s.people.screen).toBe(false);
    expect(api.today).toHaveBeenCalled();
  });

  it('signs in with the PIN typed on the pad or the keyboard, then reads today', async () => {
    const s = await ready(bootFixture({ people: signInPeople() }));
    s.people.pick(2);
    for (const k of ['1', '2', '3', '9', 'Backspace', '4']) press(s, k);
    s.people.press('5');
    s.people.press('back');
    expect(s.people.form.pin).toBe('1234');
    api.signIn.mockResolvedValueOnce(sessionFixture(clerkUser));
    press(s, 'Enter', { tagName: 'INPUT' });
    await settle();
    expect(api.signIn).toHaveBeenCalledWith(2, '1234');
    expect(s.people.session?.name).toBe('李收银');
    expect(s.people.screen).toBe(false);
    expect(s.people.form.pin).toBe('');
    expect(api.today).toHaveBeenCalled();
    press(s, '7');
    expect(s.amount).toBe('7');
  });

  it('arrow keys pick the user, wrapping round; digits still type the PIN', async () => {
    const s = await ready(bootFixture({ people: signInPeople() }));
    const ids = s.people.info.users.map((u) => u.id);
    s.people.pick(ids[0]);
    press(s, 'ArrowDown');
    expect(s.people.form.userId).toBe(ids[1]);
    press(s, 'ArrowUp', { tagName: 'INPUT' }); // even from the PIN field
    expect(s.people.form.userId).toBe(ids[0]);
    press(s, 'ArrowLeft');
    expect(s.people.form.userId).toBe(ids[ids.length - 1]);
    press(s, '2');
    expect(s.people.form.pin).toBe('2');
  });

  it('a wrong PIN shows the core’s message and clears the PIN', async () => {
    const s = await ready(bootFixture({ people: signInPeople() }));
    s.people.pick(2);
    s.people.input('pin', '0000');
    api.signIn.mockRejectedValueOnce({ code: 'wrong_pin', message: 'PIN 不对，还可以试 4 次' });
    await s.people.signIn();
    expect(s.people.form.error).toBe('PIN 不对，还可以试 4 次');
    expect(s.people.form.pin).toBe('');
    expect(s.people.screen).toBe(true);
    s.people.input('pin', '12');
    await s.people.signIn();
    expect(s.people.form.error).toBe('PIN 为 4–8 位数字');
    expect(api.signIn).toHaveBeenCalledTimes(1);
  });

  it('a demo user’s hint picks the user and fills the PIN', async () => {
    const demo = { sampleCodes: [], sandboxUrl: 'http://127.0.0.1:1', users: [{ name: '王店长', role: 'manager' as const, pin: '1234' }] };
    const s = await ready(bootFixture({ demo, people: signInPeople() }));
    s.people.useDemo('王店长', '1234');
    expect(s.people.form.userId).toBe(1);
    expect(s.people.form.pin).toBe('1234');
  });

  it('a wedge scan while a PIN is typed is undone and goes nowhere', async () => {
    const s = await ready(bootFixture({ people: signInPeople() }));
    s.people.input('pin', '12');
    wedgeScanInto(s, '280012345678901210');
    await settle();
    expect(s.people.form.pin).toBe('12');
    expect(api.submitScan).not.toHaveBeenCalled();
    expect(api.signIn).not.toHaveBeenCalled();
    expect(s.notice).toContain('输入 PIN 时不使用');
  });

  it('renders the users, the PIN pad, the error and the demo hint', async () => {
    const demo = { sampleCodes: [], sandboxUrl: 'http://127.0.0.1:1', users: [{ name: '王店长', role: 'manager' as const, pin: '1234' }] };
    await ready(bootFixture({ demo, people: signInPeople({ users: [managerUser, { ...clerkUser, locked: true }] }) }), app);
    app.people.form.error = 'PIN 不对';
    const html = render(SignIn).body;
    for (const id of ['sign-in', 'pin-input', 'pin-back', 'sign-in-submit', 'sign-in-error', 'sign-in-demo']) {
      expect(html, id).toContain(`data-testid="${id}"`);
    }
    for (let d = 0; d <= 9; d++) expect(html).toContain(`data-testid="pin-key-${d}"`);
    expect(html).toMatch(/data-testid="sign-in-user"[^>]*data-user-id="1"/);
    expect(html).toContain('已锁定');
    expect(html).toContain('PIN 不对');
    expect(html).toContain('1234');
    expect(render(Header).body).not.toContain('data-testid="open-manager"');
  });
});

describe('the first manager', () => {
  const firstRun = () => bootFixture({ people: peopleFixture({ firstRun: true, users: [] }) });

  it('checks the name and the PIN typed twice, then creates and signs in', async () => {
    const s = await ready(firstRun());
    expect(s.people.screen).toBe(true);
    expect(s.people.firstRun).toBe(true);
    await s.people.createFirstManager();
    expect(s.people.form.error).toBe('请输入姓名');
    s.people.form.name = ' 王店长 ';
    s.people.input('pin', '1234');
    s.people.input('pinAgain', '1234');
    await s.people.createFirstManager();
    expect(s.people.form.error).toBe('店长 PIN 为 6–8 位数字');
    expect(api.createFirstManager).not.toHaveBeenCalled();
    s.people.input('pin', '123456');
    s.people.input('pinAgain', '123465');
    await s.people.createFirstManager();
    expect(s.people.form.error).toBe('两次输入的 PIN 不一致');
    s.people.input('pinAgain', '123456');
    press(s, '9'); // not a PIN pad on this screen: nothing
    expect(s.people.form.pin).toBe('123456');
    api.createFirstManager.mockResolvedValueOnce(sessionFixture(managerUser));
    press(s, 'Enter', { tagName: 'INPUT' });
    await settle();
    expect(api.createFirstManager).toHaveBeenCalledWith('王店长', '123456');
    expect(s.people.session?.role).toBe('manager');
    expect(s.people.screen).toBe(false);
    expect(s.people.info.users).toEqual([managerUser, clerkUser]);
  });

  it('renders the first-run form', async () => {
    await ready(firstRun(), app);
    const html = render(SignIn).body;
    for (const id of ['first-manager-name', 'first-manager-pin', 'first-manager-pin2', 'first-manager-submit']) {
      expect(html, id).toContain(`data-testid="${id}"`);
    }
    expect(html).not.toContain('data-testid="pin-key-0"');
  });
});

describe('signing out and the idle lock', () => {
  it('sign-out: the core forgets the session and the screen shows', async () => {
    const s = await ready(signedIn(), app);
    expect(s.people.screen).toBe(false);
    const html = render(Header).body;
    expect(html).toMatch(/data-testid="session-user"[^>]*>[\s\S]*李收银[\s\S]*收银员/);
    expect(html).toContain('data-testid="sign-out"');
    expect(html).toContain('data-testid="open-manager"');
    await s.people.signOut();
    expect(api.signOut).toHaveBeenCalledTimes(1);
    expect(s.people.screen).toBe(true);
    expect(s.people.form.userId).toBeNull(); // two users: nobody preselected
  });

  it('locks after idleLockMs without activity, preselecting the same user', async () => {
    vi.useFakeTimers();
    const s = await ready(signedIn({ idleLockMs: 60_000 }));
    s.idle.configure(s.idleConfig);
    await vi.advanceTimersByTimeAsync(30_000);
    s.idle.activity();
    await vi.advanceTimersByTimeAsync(59_000);
    expect(api.lock).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(api.lock).toHaveBeenCalledTimes(1);
    expect(s.people.screen).toBe(true);
    expect(s.people.form.userId).toBe(2);
    s.idle.configure(s.idleConfig);
    expect(s.idle.armed).toBe(false);
  });

  it('does not lock while the scan overlay is open; the wait starts again when it closes', async () => {
    vi.useFakeTimers();
    const s = await ready(signedIn({ idleLockMs: 60_000 }));
    s.idle.configure(s.idleConfig);
    s.amount = '12.34';
    await s.openScan();
    expect(s.scan).not.toBeNull();
    s.idle.configure(s.idleConfig);
    await vi.advanceTimersByTimeAsync(600_000);
    expect(api.lock).not.toHaveBeenCalled();
    s.closeScan();
    s.idle.configure(s.idleConfig);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(api.lock).toHaveBeenCalledTimes(1);
  });

  it('does not lock while a payment is under way, but does on its result screen', async () => {
    const s = await ready(signedIn({ idleLockMs: 60_000 }));
    s.active = paymentFixture({ phase: 'waiting' });
    expect(s.idleConfig.busy).toBe(true);
    s.active = paidFixture();
    expect(s.idleConfig.busy).toBe(false);
  });

  it('signed_out from the core closes everything and shows the sign-in screen', async () => {
    const s = await ready(signedIn());
    s.amount = '12.34';
    await s.openScan();
    expect(s.scan).not.toBeNull();
    s.people.signedOutByCore();
    expect(s.people.screen).toBe(true);
    expect(s.scan).toBeNull();
    expect(api.disarmScan).toHaveBeenCalled();
    expect(s.people.form.userId).toBe(2);

    api.signIn.mockResolvedValueOnce(sessionFixture(managerUser));
    s.people.pick(1);
    s.people.input('pin', '1234');
    await s.people.signIn();
    press(s, 'F10');
    expect(s.manager).not.toBeNull();
    api.paymentDetail.mockResolvedValueOnce(detailFixture());
    s.openPayment('T0012511221403250001');
    await settle();
    s.detail!.refundReason = '顾客退货';
    const saving = s.detail!.refund(); // opens the PIN prompt
    await settle();
    expect(s.approvals.prompt).not.toBeNull();
    s.people.signedOutByCore();
    await saving;
    expect(s.approvals.prompt).toBeNull();
    expect(s.detail).toBeNull();
    expect(s.manager).toBeNull();
    expect(api.refund).not.toHaveBeenCalled();
    s.people.signedOutByCore(); // again: nothing changes
    expect(s.people.form.userId).toBe(1);
  });

  it('signing in optionally from the header when it is not required', async () => {
    const s = await ready(bootFixture({ people: peopleFixture({ users: [managerUser, clerkUser] }) }));
    expect(render(Header).body).not.toContain('data-testid="open-sign-in"'); // `app` is not this state
    s.people.openOptional();
    expect(s.people.screen).toBe(true);
    press(s, 'Escape');
    expect(s.people.screen).toBe(false);
  });
});

describe('the manager area', () => {
  it('F10 opens it for anyone signed in; Esc closes it; nothing behind it acts', async () => {
    const s = await ready(signedIn());
    api.auditLog.mockResolvedValue([]);
    press(s, 'F10');
    expect(s.manager?.tab).toBe('reports');
    for (const k of ['5', 'F1', 'F9', 'Enter']) press(s, k);
    await settle();
    expect(s.amount).toBe('');
    expect(api.checkAmount).not.toHaveBeenCalled();
    expect(s.settings).toBeNull();
    press(s, 'Escape');
    expect(s.manager).toBeNull();
  });

  it('does not open over a payment or the scan overlay', async () => {
    const s = await ready(signedIn());
    s.amount = '1';
    await s.openScan();
    s.openManager();
    expect(s.manager).toBeNull();
  });

  it('renders its tabs, the payments of the day and the audit log', async () => {
    await ready(signedIn(), app);
    api.today.mockResolvedValue(todayFixture({ payments: [paidFixture()], attention: [paymentFixture({ id: 'T2', state: 'unknown' })] }));
    await app.refreshToday();
    app.openManager('payments');
    let html = render(ManagerArea).body;
    for (const id of ['manager', 'tab-reports', 'tab-shift', 'tab-payments', 'tab-audit', 'tab-users', 'manager-close']) {
      expect(html, id).toContain(`data-testid="${id}"`);
    }
    expect(html).toMatch(/data-testid="payment-row"[^>]*data-id="T0012511221403250001"/);
    expect(html).toMatch(/data-testid="payment-row"[^>]*data-id="T2"/);

    api.auditLog.mockResolvedValueOnce([auditFixture(), auditFixture({ seq: 2, atMs: 1_763_791_500_000, action: 'sign_in', actionText: '登录' })]);
    app.manager!.show('audit');
    await settle();
    html = render(ManagerArea).body;
    expect(html).toContain('data-testid="audit-list"');
    expect(html).toContain('data-testid="audit-filter-action"');
    const rows = [...html.matchAll(/data-testid="audit-row" data-action="([a-z_]+)"/g)].map((m) => m[1]);
    expect(rows).toEqual(['sign_in', 'refund']); // newest first
    app.closeManager();
  });
});

describe('a payment’s detail', () => {
  it('opens from a today row; a refund goes through the PIN prompt with the amount as typed', async () => {
    const s = await ready(signedIn());
    api.paymentDetail.mockResolvedValueOnce(detailFixture());
    s.openPayment('T0012511221403250001');
    await settle();
    expect(api.paymentDetail).toHaveBeenCalledWith('T0012511221403250001');
    const d = s.detail!;
    expect(d.refundAmount).toBe('12.34');
    d.refundAmount = '2.34';
    d.refundReason = '顾客退货';
    const after = detailFixture({ refunds: [refundFixture()], refundableFen: 1000, refundableText: '10.00' });
    api.refund.mockResolvedValueOnce(after);
    api.today.mockClear();
    const refunding = d.refund();
    await settle();
    expect(api.refund).not.toHaveBeenCalled();
    await approve(s);
    await refunding;
    expect(api.refund).toHaveBeenCalledWith({ userId: 1, pin: '1234' }, 'T0012511221403250001', '2.34', '顾客退货');
    expect(d.detail?.refunds).toHaveLength(1);
    expect(d.refundAmount).toBe('10.00');
    expect(d.refundReason).toBe('');
    expect(api.today).toHaveBeenCalled();
    press(s, 'Escape');
    expect(s.detail).toBeNull();
  });

  it('renders the detail with its refunds, the refund form and the force buttons when allowed', async () => {
    await ready(signedIn(), app);
    api.paymentDetail.mockResolvedValueOnce(
      detailFixture({
        payment: paymentFixture({ state: 'unknown', phase: 'done' }),
        refunds: [refundFixture({ state: 'unknown', stateText: '退款结果未知', canResolve: true })],
        canForce: true,
      }),
    );
    app.openPayment('T0012511221403250001');
    await settle();
    app.detail!.error = '超过可退金额';
    const html = render(PaymentDetail).body;
    expect(html).toMatch(/data-testid="payment-detail"[^>]*data-id="T0012511221403250001"[^>]*data-state="unknown"/);
    for (const id of [
      'detail-refundable',
      'refund-amount',
      'refund-reason',
      'refund-submit',
      'force-paid',
      'force-not-paid',
      'force-reason',
      'detail-close',
      'detail-error',
      'resolve-succeeded',
      'resolve-failed',
    ]) {
      expect(html, id).toContain(`data-testid="${id}"`);
    }
    expect(html).toMatch(/data-testid="refund-row"[^>]*data-state="unknown"/);
    expect(html).toContain('退款结果未知');
    expect(html).toContain('批准：王店长');
    expect(html).toMatch(/data-testid="detail-refundable">¥12.34/);
    for (const pick of ['顾客退货', '重复收款', '金额错误']) expect(html).toContain(pick);
    expect(html).toContain('超过可退金额');
    app.closeDetail();
  });

  it('today rows are buttons that keep their test ids', async () => {
    await ready(signedIn(), app);
    api.today.mockResolvedValue(todayFixture({ payments: [paidFixture({ late: true })] }));
    await app.refreshToday();
    const html = render(TodayList).body;
    expect(html).toMatch(/<button[^>]*data-testid="payment-row"[^>]*data-id="T0012511221403250001"[^>]*data-state="paid"/);
    expect(html).toContain('data-testid="row-flag"');
  });

  it('renders the PIN prompt with the action and the managers', async () => {
    await ready(signedIn(), app);
    const pending = app.withApproval('refund', async () => 1);
    app.approvals.prompt!.error = 'PIN 不对，还可以试 4 次';
    const html = render(PinPrompt).body;
    for (const id of ['pin-prompt', 'pin-prompt-user', 'pin-prompt-input', 'pin-prompt-ok', 'pin-prompt-cancel', 'pin-prompt-error']) {
      expect(html, id).toContain(`data-testid="${id}"`);
    }
    expect(html).toContain('退款');
    expect(html).toContain('王店长');
    expect(html).not.toContain('李收银'); // clerks cannot approve
    app.approvals.cancel();
    expect(await pending).toBeNull();
  });

  it('a scanned receipt opens its payment, ready for a refund for a manager; a clerk only sees it', async () => {
    const receipt = (paymentId: string): ScanEvent => ({
      source: 'serial',
      codeShown: paymentId,
      atMs: 0,
      outcome: { kind: 'receipt', paymentId },
      message: `扫到小票：订单 ${paymentId}`,
    });
    const m = await ready(signedIn({ session: sessionFixture(managerUser) }));
    api.paymentDetail.mockResolvedValueOnce(detailFixture());
    m.handleScanEvent(receipt('T0012511221403250001'));
    await settle();
    expect(m.detail?.id).toBe('T0012511221403250001');
    expect(m.detail?.focusRefund).toBe(true);

    const c = await ready(signedIn());
    api.paymentDetail.mockResolvedValueOnce(detailFixture());
    c.handleScanEvent(receipt('T0012511221403250001'));
    await settle();
    expect(c.detail?.id).toBe('T0012511221403250001');
    expect(c.detail?.focusRefund).toBe(false);

    // over a payment being taken nothing opens: the notice names the receipt
    const busy = await ready(signedIn({ session: sessionFixture(managerUser) }));
    busy.active = {} as typeof busy.active;
    busy.handleScanEvent(receipt('T0012511221403250001'));
    expect(busy.detail).toBeNull();
    expect(busy.notice).toBe('扫到小票：订单 T0012511221403250001');
  });
});
