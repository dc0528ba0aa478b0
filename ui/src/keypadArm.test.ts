// The keypad's arming: when it tells the core, in what order, and what it never does.
import { describe, expect, it } from 'vitest';
import { KeypadArm, type ArmWish, type Want } from './keypadArm';

/** A core that answers when told to, and a clock the test moves by hand. */
function rig(start: Want = null) {
  const calls: string[] = [];
  const answers: (() => void)[] = [];
  let want: Want = start;
  const timers: { fn: () => void; at: number }[] = [];
  let now = 0;
  const armedSeen: boolean[] = [];
  let refuse = (_w: ArmWish) => false;
  const k = new KeypadArm({
    arm: (w) =>
      new Promise<void>((ok, no) => {
        calls.push(`arm ${w.amountText}${w.charge ? ` charge ${w.charge}` : ''}`);
        answers.push(() => (refuse(w) ? no(new Error('refused')) : ok()));
      }),
    disarm: () =>
      new Promise<void>((ok) => {
        calls.push('disarm');
        answers.push(ok);
      }),
    want: () => want,
    onArmed: (a) => armedSeen.push(a),
    setTimer: (fn, ms) => {
      const t = { fn, at: now + ms };
      timers.push(t);
      return t;
    },
    clearTimer: (h) => {
      const i = timers.indexOf(h as (typeof timers)[number]);
      if (i >= 0) timers.splice(i, 1);
    },
  });
  const flush = () => new Promise((r) => setTimeout(r, 0));
  return {
    k,
    calls,
    armedSeen,
    set: (w: Want) => (want = w),
    refuseWith: (f: (w: ArmWish) => boolean) => (refuse = f),
    /** moves the clock; fires what is due */
    advance: async (ms: number) => {
      now += ms;
      for (const t of timers.filter((t) => t.at <= now)) {
        timers.splice(timers.indexOf(t), 1);
        t.fn();
      }
      await flush();
    },
    /** the core answers every call so far */
    answer: async () => {
      while (answers.length) {
        answers.shift()!();
        await flush();
      }
    },
  };
}

const amount = (a: string): ArmWish => ({ channel: 'abc', amountText: a, charge: null });

describe('the keypad arms the scan', () => {
  it('arms once the amount has been still, never while it is typed', async () => {
    const r = rig();
    for (const typed of ['1', '12', '12.', '12.5']) {
      r.set(amount(typed));
      r.k.changed(250);
      await r.advance(40); // keys 40 ms apart: nothing is armed meanwhile
    }
    expect(r.calls).toEqual([]);
    await r.advance(250);
    expect(r.calls).toEqual(['arm 12.5']);
    await r.answer();
    expect(r.k.armed).toBe(true);
    expect(r.armedSeen).toEqual([true]);
  });

  it('disarms what it armed when the amount goes, and arms nothing twice', async () => {
    const r = rig(amount('8'));
    r.k.changed(250);
    await r.advance(250);
    await r.answer();
    r.k.changed(250);
    await r.advance(250);
    expect(r.calls).toEqual(['arm 8']);
    r.set(null);
    r.k.changed(250);
    await r.advance(250);
    await r.answer();
    expect(r.calls).toEqual(['arm 8', 'disarm']);
    expect(r.k.armed).toBe(false);
  });

  it('typing on takes back what was armed at once, and arms the new amount only once still', async () => {
    const r = rig(amount('5'));
    r.k.changed(250);
    await r.advance(250);
    await r.answer();
    expect(r.k.armed).toBe(true);
    r.set(amount('50'));
    r.k.changed(250);
    await r.advance(0);
    await r.answer();
    // no timer has run yet: the ¥5 arming is gone before ¥50 is armed
    expect(r.calls).toEqual(['arm 5', 'disarm']);
    expect(r.k.armed).toBe(false);
    await r.advance(250);
    await r.answer();
    expect(r.calls).toEqual(['arm 5', 'disarm', 'arm 50']);
  });

  it('release takes back what the keypad armed (a QR sale starts), and nothing when nothing is armed', async () => {
    const r = rig(amount('8'));
    await r.k.release();
    expect(r.calls).toEqual([]);
    r.k.changed(250);
    await r.advance(250);
    await r.answer();
    const released = r.k.release();
    await r.advance(0);
    await r.answer();
    await released;
    expect(r.calls).toEqual(['arm 8', 'disarm']);
    expect(r.k.armed).toBe(false);
  });

  it('an amount the core refuses leaves it unarmed (the core armed nothing)', async () => {
    const r = rig(amount('99999999'));
    r.refuseWith(() => true);
    r.k.changed(250);
    await r.advance(250);
    await r.answer();
    expect(r.k.armed).toBe(false);
    expect(r.armedSeen).toEqual([]);
  });

  it('hands-off: the overlay or a payment owns the arming; the keypad neither arms nor disarms', async () => {
    const r = rig(amount('5'));
    r.k.changed(250);
    await r.advance(250);
    await r.answer();
    r.set('hands-off'); // a scan paid it: the core disarmed itself
    r.k.changed(250);
    await r.advance(250);
    expect(r.calls).toEqual(['arm 5']);
    expect(r.k.armed).toBe(false);
    // the payment failed: the amount is still there, so it is armed again for the next code
    r.set(amount('5'));
    r.k.changed(250);
    await r.advance(250);
    await r.answer();
    expect(r.calls).toEqual(['arm 5', 'arm 5']);
  });

  it("a late keypad call never undoes the overlay's arming: one queue, what it wants read at its turn", async () => {
    const r = rig(null);
    r.k.changed(250);
    // the overlay arms meanwhile (Enter), and owns it from then on
    const overlay = r.k.exclusive(async () => {
      r.calls.push('overlay arm');
    });
    r.set('hands-off');
    await r.advance(250);
    await overlay;
    await r.answer();
    expect(r.calls).toEqual(['overlay arm']);
  });

  it('arms an open charge by its id', async () => {
    const r = rig({ channel: 'abc', amountText: '', charge: 'C1' });
    r.k.changed(250);
    await r.advance(250);
    expect(r.calls).toEqual(['arm  charge C1']);
  });
});
