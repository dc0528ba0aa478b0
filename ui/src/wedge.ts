// Keyboard-wedge scanner detector (pure: no DOM).
//
// A USB HID barcode scanner "types" the code as very fast key events followed by Enter. The detector
// is fed one key event at a time and decides whether a run of keys was a scan:
//   a run of at least `minLength` characters whose gaps are all under `maxGapMs`, ended by Enter
//   (`code` "Enter" or "NumpadEnter") that also arrives within `maxEnterGapMs` of the last character.
// Characters are read from `KeyboardEvent.code` so the keyboard layout does not matter: Digit0–Digit9
// and Numpad0–Numpad9 give digits, KeyA–KeyZ give upper-case letters. Any other printable key (one
// character in `key`) is taken as typed. Modifier keys are ignored; any other non-character key,
// an auto-repeated key, or a slow gap ends the current run (a slow gap starts a new run with the key).

export interface WedgeOptions {
  /** fewest characters that make a scan (default 8) */
  minLength: number;
  /** every gap between two characters of a scan must be below this (ms, default 50) */
  maxGapMs: number;
  /** the terminating Enter must follow the last character within this (ms, default = maxGapMs) */
  maxEnterGapMs: number;
}

export const DEFAULT_WEDGE_OPTIONS: Readonly<WedgeOptions> = Object.freeze({
  minLength: 8,
  maxGapMs: 50,
  maxEnterGapMs: 50,
});

/** The part of a KeyboardEvent the detector reads. */
export interface WedgeKey {
  code: string;
  key: string;
  timeStamp: number;
  /** KeyboardEvent.repeat: a key held down is never a scan */
  repeat?: boolean;
}

export type WedgeResult =
  /** a modifier (Shift, Ctrl, …): no effect on the run */
  | { kind: 'ignored' }
  /**
   * a character. `runStart`: it began a new run (first key, or after a slow gap); `abandoned`: the
   * characters of the previous run that this key ended (not a scan); `run`: the current run so far
   * (this character included); `fast`: the run has at least two characters.
   */
  | { kind: 'char'; char: string; runStart: boolean; abandoned: string; run: string; fast: boolean }
  /** Enter completed a scan */
  | { kind: 'scan'; code: string }
  /** Enter that did not complete a scan; `abandoned`: the run it ended */
  | { kind: 'enter'; abandoned: string }
  /** another non-character key (Backspace, Tab, arrows, F-keys, Escape…) or a repeat: run ended */
  | { kind: 'other'; abandoned: string };

const MODIFIER_KEYS = new Set([
  'Shift',
  'Control',
  'Alt',
  'AltGraph',
  'Meta',
  'OS',
  'Super',
  'Hyper',
  'CapsLock',
  'NumLock',
  'ScrollLock',
  'Fn',
  'FnLock',
  'Symbol',
  'SymbolLock',
]);

const MODIFIER_CODES = new Set([
  'ShiftLeft',
  'ShiftRight',
  'ControlLeft',
  'ControlRight',
  'AltLeft',
  'AltRight',
  'MetaLeft',
  'MetaRight',
  'OSLeft',
  'OSRight',
  'CapsLock',
  'NumLock',
  'ScrollLock',
  'Fn',
]);

export function isModifier(e: Pick<WedgeKey, 'code' | 'key'>): boolean {
  return MODIFIER_KEYS.has(e.key) || MODIFIER_CODES.has(e.code);
}

export function isEnter(e: Pick<WedgeKey, 'code' | 'key'>): boolean {
  if (e.code === 'Enter' || e.code === 'NumpadEnter') return true;
  // Some virtual keyboards / remote desktops send an empty `code`: fall back on `key`.
  return e.code === '' && e.key === 'Enter';
}

/**
 * The character a key stands for, independent of the keyboard layout where it matters (digits,
 * letters), or null if the key is not a character key.
 */
export function keyChar(e: Pick<WedgeKey, 'code' | 'key'>): string | null {
  const c = e.code;
  let m = /^Digit([0-9])$/.exec(c) ?? /^Numpad([0-9])$/.exec(c);
  if (m) return m[1];
  m = /^Key([A-Z])$/.exec(c);
  if (m) return m[1];
  // Other printable keys: `key` is a single character (by code points).
  if ([...e.key].length === 1 && e.key !== ' ' && e.key.trim() !== '') return e.key;
  return null;
}

export class WedgeDetector {
  private opts: WedgeOptions;
  private run = '';
  private lastAt = 0;

  constructor(options: Partial<WedgeOptions> = {}) {
    this.opts = { ...DEFAULT_WEDGE_OPTIONS };
    this.setOptions(options);
  }

  get options(): Readonly<WedgeOptions> {
    return { ...this.opts };
  }

  /** Changes the options (e.g. from the settings); `maxEnterGapMs` follows `maxGapMs` unless given. */
  setOptions(options: Partial<WedgeOptions>): void {
    const next = { ...this.opts, ...options };
    if (options.maxGapMs !== undefined && options.maxEnterGapMs === undefined) {
      next.maxEnterGapMs = options.maxGapMs;
    }
    if (!(next.minLength >= 1) || !(next.maxGapMs > 0) || !(next.maxEnterGapMs > 0)) {
      throw new RangeError('wedge options: minLength >= 1, maxGapMs > 0, maxEnterGapMs > 0');
    }
    this.opts = next;
  }

  /** The characters of the run in progress. */
  get current(): string {
    return this.run;
  }

  /** Forgets the run in progress (e.g. when the scan overlay opens). */
  reset(): void {
    this.run = '';
    this.lastAt = 0;
  }

  feed(e: WedgeKey): WedgeResult {
    if (isModifier(e)) return { kind: 'ignored' };

    if (isEnter(e)) {
      const run = this.run;
      const gap = e.timeStamp - this.lastAt;
      this.reset();
      if (!e.repeat && run.length >= this.opts.minLength && gap >= 0 && gap < this.opts.maxEnterGapMs) {
        return { kind: 'scan', code: run };
      }
      return { kind: 'enter', abandoned: run };
    }

    const ch = e.repeat ? null : keyChar(e);
    if (ch === null) {
      const run = this.run;
      this.reset();
      return { kind: 'other', abandoned: run };
    }

    const gap = e.timeStamp - this.lastAt;
    let abandoned = '';
    let runStart = false;
    if (this.run === '' || !(gap >= 0 && gap < this.opts.maxGapMs)) {
      abandoned = this.run;
      this.run = '';
      runStart = true;
    }
    this.run += ch;
    this.lastAt = e.timeStamp;
    return { kind: 'char', char: ch, runStart, abandoned, run: this.run, fast: this.run.length >= 2 };
  }
}
