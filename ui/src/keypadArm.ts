// The keypad arms the scan: while a valid amount is on the keypad, the next payment code from any
// scanner pays it (amount → scan → done, no Enter). The core checks every amount (a refused one
// leaves nothing armed); this file only decides *when* to tell it, and keeps the calls in order.
//
// Three rules keep a sale safe:
// - The moment the amount on screen is no longer what is armed, the armed one is taken back: a
//   scan while the clerk is still typing pays nothing, never the amount typed so far.
// - Arming waits until the amount has been still for a moment (`delayMs`), so the digits a
//   keyboard-wedge scanner types into the keypad (undone as soon as the scan is recognised) are
//   never armed. A wedge scan itself carries the keypad's amount to the core (`submit_scan` with
//   the amount), so it never depends on this timing.
// - Every arm and disarm, the keypad's and the scan overlay's alike, runs through one queue, and
//   the keypad reads what it wants when its turn comes: a late keypad call never undoes the
//   overlay's arming.

/** What the keypad would arm: a typed amount, or the open charge. */
export interface ArmWish {
  channel: string;
  amountText: string;
  charge: string | null;
}

/**
 * What the screen wants now: a wish, `null` (nothing may be armed: no amount, a covered or
 * settings screen, a channel without payment codes), or `'hands-off'` (the scan overlay, a payment
 * or a command under way owns the arming: leave it as it is).
 */
export type Want = ArmWish | null | 'hands-off';

export interface KeypadArmDeps {
  arm(w: ArmWish): Promise<unknown>;
  disarm(): Promise<unknown>;
  /** read when the keypad's turn comes, not when it was asked */
  want(): Want;
  /** the keypad's arming changed (for the "scan now" hint) */
  onArmed(armed: boolean): void;
  setTimer?(fn: () => void, ms: number): unknown;
  clearTimer?(handle: unknown): void;
}

export function wishKey(w: ArmWish): string {
  return `${w.channel}\u0000${w.amountText}\u0000${w.charge ?? ''}`;
}

export class KeypadArm {
  private deps: KeypadArmDeps;
  private queue: Promise<unknown> = Promise.resolve();
  private timer: unknown = null;
  /** what the keypad armed and the core accepted ('' when nothing) */
  private armedKey = '';

  constructor(deps: KeypadArmDeps) {
    this.deps = deps;
  }

  get armed(): boolean {
    return this.armedKey !== '';
  }

  /** Something the keypad depends on changed: what was armed and is no longer on screen is taken
   * back at once (a scan meanwhile pays nothing rather than the old amount); the new one is armed
   * once it has been still for `delayMs`. */
  changed(delayMs: number): void {
    if (this.armedKey !== '' && this.stale(this.deps.want())) {
      void this.exclusive(async () => {
        // read again at its turn: the overlay or a payment may have taken over meanwhile
        if (!this.stale(this.deps.want())) return;
        this.setArmed('');
        await this.deps.disarm().catch(() => undefined);
      });
    }
    const set = this.deps.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    const clear = this.deps.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
    if (this.timer !== null) clear(this.timer);
    this.timer = set(() => {
      this.timer = null;
      void this.sync();
    }, delayMs);
  }

  /** Runs `op` (the overlay's own arm or disarm) in turn with the keypad's calls. */
  exclusive<T>(op: () => Promise<T>): Promise<T> {
    const run = this.queue.then(op);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Takes back what the keypad armed, now (in turn): a QR payment is starting, and a payment code
   * scanned meanwhile must not start a second payment for the same sale. */
  release(): Promise<void> {
    return this.exclusive(async () => {
      if (this.armedKey === '') return;
      this.setArmed('');
      await this.deps.disarm().catch(() => undefined);
    });
  }

  /** Brings the core in line with what the screen wants now (in turn). */
  sync(): Promise<void> {
    return this.exclusive(async () => {
      const want = this.deps.want();
      if (want === 'hands-off') {
        // the overlay or a payment took the arming over (a payment disarms the core itself)
        this.setArmed('');
        return;
      }
      const key = want === null ? '' : wishKey(want);
      if (key === this.armedKey) return;
      if (want === null) {
        this.setArmed('');
        await this.deps.disarm().catch(() => undefined);
        return;
      }
      try {
        await this.deps.arm(want);
        this.setArmed(key);
      } catch {
        // an amount being typed ("0.", over the ceiling): the core armed nothing; Enter explains
        this.setArmed('');
      }
    });
  }

  /** What is armed differs from what the screen wants (and the screen still owns the arming). */
  private stale(want: Want): boolean {
    if (this.armedKey === '' || want === 'hands-off') return false;
    return want === null || wishKey(want) !== this.armedKey;
  }

  private setArmed(key: string): void {
    const was = this.armed;
    this.armedKey = key;
    if (was !== this.armed) this.deps.onArmed(this.armed);
  }
}
