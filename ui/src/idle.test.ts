import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IdleTimer } from './idle';

const on = { enabled: true, busy: false, timeoutMs: 60_000 };

describe('idle lock timer', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('fires once after the timeout without activity', () => {
    const onIdle = vi.fn();
    const t = new IdleTimer(onIdle);
    t.configure(on);
    vi.advanceTimersByTime(59_999);
    expect(onIdle).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(onIdle).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(600_000);
    expect(onIdle).toHaveBeenCalledTimes(1);
  });

  it('activity starts the wait over', () => {
    const onIdle = vi.fn();
    const t = new IdleTimer(onIdle);
    t.configure(on);
    vi.advanceTimersByTime(50_000);
    t.activity();
    vi.advanceTimersByTime(50_000);
    expect(onIdle).not.toHaveBeenCalled();
    vi.advanceTimersByTime(10_000);
    expect(onIdle).toHaveBeenCalledTimes(1);
  });

  it('waits while busy and starts the whole wait again when it ends', () => {
    const onIdle = vi.fn();
    const t = new IdleTimer(onIdle);
    t.configure(on);
    vi.advanceTimersByTime(50_000);
    t.configure({ ...on, busy: true }); // a payment started
    t.activity();
    vi.advanceTimersByTime(300_000);
    expect(onIdle).not.toHaveBeenCalled();
    t.configure(on); // the payment ended
    vi.advanceTimersByTime(59_000);
    expect(onIdle).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1_000);
    expect(onIdle).toHaveBeenCalledTimes(1);
  });

  it('does nothing while disabled (signing in not required, nobody signed in) or with no timeout', () => {
    const onIdle = vi.fn();
    const t = new IdleTimer(onIdle);
    t.configure({ ...on, enabled: false });
    t.activity();
    vi.advanceTimersByTime(600_000);
    t.configure({ ...on, timeoutMs: 0 });
    vi.advanceTimersByTime(600_000);
    expect(onIdle).not.toHaveBeenCalled();
    expect(t.armed).toBe(false);
  });

  it('the same state again does not restart the wait; a new timeout does', () => {
    const onIdle = vi.fn();
    const t = new IdleTimer(onIdle);
    t.configure(on);
    vi.advanceTimersByTime(40_000);
    t.configure({ ...on });
    vi.advanceTimersByTime(20_000);
    expect(onIdle).toHaveBeenCalledTimes(1);
    t.configure({ ...on, timeoutMs: 10_000 });
    vi.advanceTimersByTime(10_000);
    expect(onIdle).toHaveBeenCalledTimes(2);
  });

  it('keys, clicks and touches on the window count as activity', () => {
    const onIdle = vi.fn();
    const listeners = new Map<string, () => void>();
    const target = {
      addEventListener: vi.fn((type: string, fn: () => void) => listeners.set(type, fn)),
      removeEventListener: vi.fn((type: string) => listeners.delete(type)),
    };
    const t = new IdleTimer(onIdle);
    const remove = t.install(target as unknown as Window);
    expect([...listeners.keys()].sort()).toEqual(['keydown', 'pointerdown', 'touchstart']);
    t.configure(on);
    for (const type of ['keydown', 'pointerdown', 'touchstart']) {
      vi.advanceTimersByTime(50_000);
      listeners.get(type)!();
    }
    vi.advanceTimersByTime(50_000);
    expect(onIdle).not.toHaveBeenCalled();
    remove();
    expect(listeners.size).toBe(0);
    vi.advanceTimersByTime(600_000);
    expect(onIdle).not.toHaveBeenCalled(); // removing also stops the timer
  });
});
