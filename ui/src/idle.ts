// The idle lock's timer: after `timeoutMs` without activity (a key, a click, a touch) it calls
// `onIdle` once. It runs only while armed: enabled (signing in is required and someone is signed
// in) and not busy (a payment, the scan overlay or an amount check under way). When it becomes
// armed again the whole wait starts over.

export interface IdleConfig {
  enabled: boolean;
  busy: boolean;
  timeoutMs: number;
}

export interface IdleClock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
}

const realClock: IdleClock = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (id) => globalThis.clearTimeout(id as ReturnType<typeof globalThis.setTimeout>),
};

/** The events that count as someone at the till. */
export const ACTIVITY_EVENTS = ['keydown', 'pointerdown', 'touchstart'] as const;

export class IdleTimer {
  private config: IdleConfig = { enabled: false, busy: false, timeoutMs: 0 };
  private timer: unknown = null;

  constructor(
    private readonly onIdle: () => void,
    private readonly clock: IdleClock = realClock,
  ) {}

  get armed(): boolean {
    return this.config.enabled && !this.config.busy && this.config.timeoutMs > 0;
  }

  /** Takes the current state; (re)starts the wait when it becomes armed or the timeout changed. */
  configure(next: IdleConfig): void {
    const wasArmed = this.armed;
    const changed = next.timeoutMs !== this.config.timeoutMs;
    this.config = { ...next };
    if (!this.armed) this.stop();
    else if (!wasArmed || changed || this.timer === null) this.restart();
  }

  /** Someone used the till: the wait starts over. */
  activity(): void {
    if (this.armed) this.restart();
  }

  stop(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  /** Listens for activity on `target`; returns the function that stops listening and the timer. */
  install(target: Pick<Window, 'addEventListener' | 'removeEventListener'>): () => void {
    const listener = () => this.activity();
    for (const type of ACTIVITY_EVENTS) target.addEventListener(type, listener, { capture: true, passive: true });
    return () => {
      for (const type of ACTIVITY_EVENTS) target.removeEventListener(type, listener, { capture: true });
      this.stop();
    };
  }

  private restart(): void {
    this.stop();
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      if (this.armed) this.onIdle();
    }, this.config.timeoutMs);
  }
}
