// The manager's PIN prompt: who is preselected, the call made with the approval, what keeps the
// prompt open and what closes it.
import { describe, expect, it, vi } from 'vitest';
import { Approvals, managersOf, preselectManager } from './approval.svelte';
import type { Approval, UserInfo } from './api';
import { clerkUser, managerUser, secondManager } from './testFixtures';

const settle = () => new Promise((r) => setTimeout(r, 0));

function approvals(p: { users?: UserInfo[]; known?: UserInfo[]; session?: number | null } = {}) {
  const users = vi.fn(async () => p.users ?? [managerUser, clerkUser, secondManager]);
  const a = new Approvals({
    users,
    knownUsers: () => p.known ?? [managerUser, clerkUser],
    sessionUserId: () => (p.session === undefined ? null : p.session),
    message: (k) => (k === 'pinFormat' ? 'PIN 为 4–8 位数字' : '请选择店长'),
  });
  return { a, users };
}

function keyEvent(key: string, tagName = 'BODY') {
  return { key, ctrlKey: false, metaKey: false, altKey: false, target: { tagName }, preventDefault: vi.fn() } as unknown as KeyboardEvent;
}

describe('who the prompt offers', () => {
  it('lists managers only, preselecting the signed-in manager, else the only one', () => {
    expect(managersOf([managerUser, clerkUser, secondManager]).map((u) => u.id)).toEqual([1, 3]);
    expect(preselectManager([managerUser, secondManager], 3)).toBe(3);
    expect(preselectManager([managerUser, secondManager], 2)).toBeNull(); // a clerk is signed in
    expect(preselectManager([managerUser], 2)).toBe(1);
    expect(preselectManager([], null)).toBeNull();
  });

  it('shows the known managers at once, then the list `users` answers', async () => {
    const { a, users } = approvals({ session: 2 });
    void a.withApproval('refund', async () => 'done');
    expect(a.prompt?.action).toBe('refund');
    expect(a.prompt?.managers.map((m) => m.id)).toEqual([1]);
    expect(a.prompt?.userId).toBe(1);
    await settle();
    expect(users).toHaveBeenCalledTimes(1);
    expect(a.prompt?.managers.map((m) => m.id)).toEqual([1, 3]);
    expect(a.prompt?.userId).toBe(1); // the pick stays
  });
});

describe('withApproval', () => {
  it('runs the call with the picked manager and PIN and resolves with its result', async () => {
    const { a } = approvals({ session: 3 });
    const call = vi.fn(async (ap: Approval) => ({ ok: ap.userId }));
    const result = a.withApproval('settings', call);
    await settle();
    expect(a.prompt?.userId).toBe(3);
    for (const d of '2468') a.press(d as '2');
    await a.submit();
    expect(call).toHaveBeenCalledWith({ userId: 3, pin: '2468' });
    expect(await result).toEqual({ ok: 3 });
    expect(a.prompt).toBeNull();
  });

  it('says what it approves: the action, and the amount and order when there are any', async () => {
    const { a } = approvals({ session: 3 });
    void a.withApproval('refund', vi.fn(), '¥12.34 · 订单 …3563');
    expect(a.prompt?.action).toBe('refund');
    expect(a.prompt?.what).toBe('¥12.34 · 订单 …3563');
    a.cancel();
    void a.withApproval('close_shift', vi.fn());
    expect(a.prompt?.what).toBeNull();
  });

  it('does not call before a manager is picked and the PIN has 4–8 digits', async () => {
    const { a } = approvals({ known: [managerUser, secondManager], users: [managerUser, secondManager] });
    const call = vi.fn(async () => 1);
    void a.withApproval('refund', call);
    await settle();
    expect(a.prompt?.userId).toBeNull();
    a.input('1234');
    await a.submit();
    expect(a.prompt?.error).toBe('请选择店长');
    a.pick(3);
    expect(a.prompt?.error).toBeNull();
    a.input('12');
    await a.submit();
    expect(a.prompt?.error).toBe('PIN 为 4–8 位数字');
    expect(call).not.toHaveBeenCalled();
  });

  it('stays open on wrong_pin, locked and forbidden, showing the message, and lets the manager retry', async () => {
    const { a } = approvals({ session: 1 });
    const call = vi
      .fn()
      .mockRejectedValueOnce({ code: 'wrong_pin', message: 'PIN 不对，还可以试 4 次' })
      .mockRejectedValueOnce({ code: 'locked', message: '王店长已锁定，15:20 后再试' })
      .mockRejectedValueOnce({ code: 'forbidden', message: '只有店长可以批准' })
      .mockResolvedValueOnce('refunded');
    const result = a.withApproval('refund', call);
    for (const message of ['PIN 不对，还可以试 4 次', '王店长已锁定，15:20 后再试', '只有店长可以批准']) {
      a.input('1111');
      await a.submit();
      expect(a.prompt?.error).toBe(message);
      expect(a.prompt?.pin).toBe('');
      expect(a.prompt?.busy).toBe(false);
    }
    a.pick(3);
    a.input('1234');
    await a.submit();
    expect(await result).toBe('refunded');
    expect(call).toHaveBeenCalledTimes(4);
    expect(call).toHaveBeenLastCalledWith({ userId: 3, pin: '1234' });
  });

  it('any other rejection closes the prompt and goes to the caller', async () => {
    const { a } = approvals({ session: 1 });
    const result = a.withApproval('refund', async () => {
      throw { code: 'refund', message: '超过可退金额' };
    });
    a.input('1234');
    await a.submit();
    expect(a.prompt).toBeNull();
    await expect(result).rejects.toEqual({ code: 'refund', message: '超过可退金额' });
  });

  it('cancel resolves with null; not while the call is on its way', async () => {
    const { a } = approvals({ session: 1 });
    let finish!: (v: string) => void;
    const call = vi.fn(() => new Promise<string>((r) => (finish = r)));
    const first = a.withApproval('refund', call);
    a.cancel();
    expect(await first).toBeNull();
    expect(call).not.toHaveBeenCalled();

    const second = a.withApproval('refund', call);
    a.input('1234');
    const submitting = a.submit();
    expect(a.prompt?.busy).toBe(true);
    a.cancel();
    expect(a.prompt).not.toBeNull();
    finish('ok');
    await submitting;
    expect(await second).toBe('ok');
  });

  it('one prompt at a time: a second request while one is open gets null', async () => {
    const { a } = approvals();
    void a.withApproval('refund', async () => 1);
    expect(await a.withApproval('settings', async () => 2)).toBeNull();
    expect(a.prompt?.action).toBe('refund');
  });

  it('dismiss (signed out) closes it even while busy; the late answer is dropped', async () => {
    const { a } = approvals({ session: 1 });
    let finish!: (v: string) => void;
    const result = a.withApproval('refund', () => new Promise<string>((r) => (finish = r)));
    a.input('1234');
    const submitting = a.submit();
    a.dismiss();
    expect(a.prompt).toBeNull();
    expect(await result).toBeNull();
    finish('late');
    await submitting;
    expect(a.prompt).toBeNull();
  });

  it('takes digits, Backspace, Enter and Esc from the keyboard', async () => {
    const { a } = approvals({ session: 1 });
    const call = vi.fn(async () => 'ok');
    const result = a.withApproval('refund', call);
    for (const k of ['1', '2', '3', '9', 'Backspace', '4']) a.onKeydown(keyEvent(k));
    expect(a.prompt?.pin).toBe('1234');
    const typedInField = keyEvent('5', 'INPUT');
    a.onKeydown(typedInField);
    expect(typedInField.preventDefault).not.toHaveBeenCalled(); // the field takes its own digit
    expect(a.prompt?.pin).toBe('1234');
    a.onKeydown(keyEvent('Enter', 'INPUT'));
    expect(await result).toBe('ok');
    expect(call).toHaveBeenCalledWith({ userId: 1, pin: '1234' });

    const again = a.withApproval('refund', call);
    a.onKeydown(keyEvent('Escape'));
    expect(await again).toBeNull();
  });
});
