// Glue between the browser's key events and the wedge detector.
//
// One `keydown` listener on `window` in the capture phase (it runs before any focused element sees
// the key). Two modes:
//
// * Scan mode (the scan overlay is open): every key except Esc is captured (preventDefault +
//   stopPropagation) so nothing reaches a focused input or the app's shortcuts. Keys are fed to the
//   detector. Slowly typed characters go to the manual entry text; a fast run (two or more
//   characters under the gap) is shown as a masked echo instead, and goes back to the manual text if
//   it ends without being a scan (a fast human). Enter ends it: a detected scan → `onScan(code)`;
//   otherwise the manual text is submitted → `onManualSubmit(text)`. Backspace / Delete edit the
//   manual text. Esc is left alone (the app closes the overlay). Ctrl/⌘+V is left alone (paste into
//   the manual field).
//
// * Passive mode (anything else): keys are not touched, only fed to the detector. At the start of
//   every run the app state (`snapshot()`) and the focused text field are snapshotted; if the run
//   turns out to be a complete scan, its Enter is swallowed, the snapshots are restored (undoing what
//   the scanner typed into the amount or a field) and `onPassiveScan(code)` tells the app (which
//   asks the core, which shows what was read; it does not start a payment unless one is armed).
//
// Detection can be switched off (`configure({ enabled: false })`, the `[scanners.wedge]` setting):
// passive mode then leaves every key alone, and in scan mode every key typed (fast or slow) is
// manual entry text, submitted with Enter.
//
// The owner may also switch the whole capture off for a while (`isOff()`, e.g. the clerk window's
// capture in kiosk mode, where the kiosk reads the wedge itself): every key is then left alone and
// nothing is detected, in either mode.

import { WedgeDetector, type WedgeKey, type WedgeOptions, type WedgeResult } from './wedge';

/** The wedge settings the capture takes (from `[scanners.wedge]`). */
export interface WedgeConfig {
  enabled: boolean;
  minLength: number;
  maxGapMs: number;
}

/** What the capture reads from a KeyboardEvent (a real one fits). */
export interface KeyLike extends WedgeKey {
  ctrlKey?: boolean;
  metaKey?: boolean;
  isComposing?: boolean;
  preventDefault(): void;
  stopPropagation(): void;
}

/** A text field whose value can be snapshotted and restored. */
export interface TextFieldLike {
  value: string;
  dispatchEvent?(event: Event): boolean;
}

export interface EntryView {
  /** the manual code text (what the clerk typed slowly) */
  manual: string;
  /** the fast run in progress, masked after the first 4 characters ('' when none) */
  echo: string;
}

export interface WedgeCaptureHandlers {
  /** the capture is off right now: every key is left alone, nothing is detected (default: never) */
  isOff?(): boolean;
  isScanMode(): boolean;
  /** scan mode: the manual text or the echo changed */
  onEntry(view: EntryView): void;
  /** scan mode: a wedge scan was detected */
  onScan(code: string): void;
  /** scan mode: Enter without a scan, with the manual text (trimmed, never empty) */
  onManualSubmit(text: string): void;
  /** passive mode: take a snapshot of the app state; returns a function that restores it */
  snapshot(): () => void;
  /** passive mode: a full scan happened outside scan mode (already undone) */
  onPassiveScan(code: string): void;
  /** the focused text field, if any (default: document.activeElement when it is an input/textarea) */
  focusedField?(): TextFieldLike | null;
}

/** Shows the first 4 characters and masks the rest, in groups of 4: "2801 •••• •••• ••". */
export function maskEcho(run: string): string {
  const chars = [...run];
  const shown = chars.map((c, i) => (i < 4 ? c : '•'));
  const groups: string[] = [];
  for (let i = 0; i < shown.length; i += 4) groups.push(shown.slice(i, i + 4).join(''));
  return groups.join(' ');
}

function dropLastChar(s: string): string {
  const chars = [...s];
  chars.pop();
  return chars.join('');
}

function defaultFocusedField(): TextFieldLike | null {
  if (typeof document === 'undefined') return null;
  const el = document.activeElement;
  if (el instanceof HTMLTextAreaElement) return el;
  if (el instanceof HTMLInputElement) {
    const textual = ['text', 'search', 'tel', 'url', 'email', 'password', 'number', ''];
    return textual.includes(el.type) ? el : null;
  }
  return null;
}

export class WedgeCapture {
  readonly detector: WedgeDetector;
  private h: WedgeCaptureHandlers;
  /** scan mode: committed manual text */
  private manual = '';
  /** scan mode: the detector's run in progress */
  private run = '';
  /** passive mode: restore functions taken at the start of the current run */
  private restoreApp: (() => void) | null = null;
  private restoreField: (() => void) | null = null;
  private detecting = true;

  constructor(handlers: WedgeCaptureHandlers, detector: WedgeDetector = new WedgeDetector()) {
    this.h = handlers;
    this.detector = detector;
  }

  /** Whether wedge scans are detected (else keys are only ever manual entry). */
  get enabled(): boolean {
    return this.detecting;
  }

  /**
   * Applies the wedge settings. Thresholds the detector refuses (minLength < 1, maxGapMs <= 0) are
   * left as they were; returns whether they were taken. A run in progress becomes manual text
   * (scan mode) or is forgotten (passive mode).
   */
  configure(config: Partial<WedgeConfig>): boolean {
    let ok = true;
    const opts: Partial<WedgeOptions> = {};
    if (config.minLength !== undefined) opts.minLength = config.minLength;
    if (config.maxGapMs !== undefined) opts.maxGapMs = config.maxGapMs;
    try {
      this.detector.setOptions(opts);
    } catch {
      ok = false;
    }
    if (config.enabled !== undefined) this.detecting = config.enabled;
    this.commitRun(this.run);
    this.detector.reset();
    this.restoreApp = this.restoreField = null;
    return ok;
  }

  /** Applies the wedge settings only when they differ from those in force (`configure` would drop a
   * run in progress): for settings that arrive again unchanged (every bootstrap, language switch). */
  sync(config: WedgeConfig): void {
    const have = this.detector.options;
    if (config.enabled !== this.detecting || config.minLength !== have.minLength || config.maxGapMs !== have.maxGapMs) {
      this.configure(config);
    }
  }

  /** Sets the manual text (e.g. the field changed by paste or an on-screen keyboard) and clears the run. */
  setManual(text: string): void {
    this.manual = text;
    this.run = '';
    this.detector.reset();
  }

  /** Clears the manual text, the run and the snapshots (e.g. when the scan overlay opens). */
  reset(): void {
    this.setManual('');
    this.restoreApp = null;
    this.restoreField = null;
  }

  view(): EntryView {
    const fast = this.detecting && [...this.run].length >= 2;
    return { manual: fast ? this.manual : this.manual + this.run, echo: fast ? maskEcho(this.run) : '' };
  }

  /** The keydown handler (installed on window in the capture phase by `install`). */
  handleKey = (ev: KeyLike): void => {
    if (this.h.isOff?.()) {
      // nothing half-read survives to be finished once it is on again
      this.reset();
      return;
    }
    if (ev.key === 'Escape' || ev.code === 'Escape') {
      // Never captured: the app closes the overlay / cancels.
      this.detector.reset();
      this.commitRun('');
      this.restoreApp = this.restoreField = null;
      return;
    }
    if (this.h.isScanMode()) this.scanKey(ev);
    else if (this.detecting) this.passiveKey(ev);
  };

  private commitRun(extra: string): void {
    this.manual += extra;
    this.run = '';
  }

  private emit(): void {
    this.h.onEntry(this.view());
  }

  private scanKey(ev: KeyLike): void {
    if ((ev.ctrlKey || ev.metaKey) && ev.code === 'KeyV') return; // paste into the manual field
    ev.preventDefault();
    ev.stopPropagation();
    const r: WedgeResult = this.detector.feed(ev);
    switch (r.kind) {
      case 'ignored':
        return;
      case 'scan':
        if (!this.detecting) {
          // detection off: what was typed is manual text like any other
          this.submitManual(r.code);
          return;
        }
        this.manual = '';
        this.run = '';
        this.emit();
        this.h.onScan(r.code);
        return;
      case 'enter':
        this.submitManual(r.abandoned);
        return;
      case 'other':
        this.commitRun(r.abandoned);
        if (ev.key === 'Backspace') this.manual = dropLastChar(this.manual);
        else if (ev.key === 'Delete') this.manual = '';
        this.emit();
        return;
      case 'char':
        if (r.runStart) this.commitRun(r.abandoned);
        this.run = r.run;
        this.emit();
        return;
    }
  }

  private submitManual(run: string): void {
    this.commitRun(run);
    this.emit();
    const text = this.manual.trim();
    if (text !== '') this.h.onManualSubmit(text);
  }

  private passiveKey(ev: KeyLike): void {
    const r = this.detector.feed(ev);
    switch (r.kind) {
      case 'ignored':
        return;
      case 'char':
        if (r.runStart) this.takeSnapshots();
        return;
      case 'scan': {
        ev.preventDefault();
        ev.stopPropagation();
        const restoreApp = this.restoreApp;
        const restoreField = this.restoreField;
        this.restoreApp = this.restoreField = null;
        restoreField?.();
        restoreApp?.();
        this.h.onPassiveScan(r.code);
        return;
      }
      default:
        this.restoreApp = this.restoreField = null;
        return;
    }
  }

  private takeSnapshots(): void {
    this.restoreApp = this.h.snapshot();
    const field = (this.h.focusedField ?? defaultFocusedField)();
    if (field) {
      const value = field.value;
      this.restoreField = () => {
        if (field.value === value) return;
        field.value = value;
        // let bindings (Svelte's bind:value / oninput) see the restored value
        if (field.dispatchEvent && typeof Event !== 'undefined') {
          field.dispatchEvent(new Event('input', { bubbles: true }));
        }
      };
    } else {
      this.restoreField = null;
    }
  }

  /** Installs the capture-phase keydown listener; returns the function that removes it. */
  install(target: Pick<Window, 'addEventListener' | 'removeEventListener'> = window): () => void {
    const listener = (e: Event) => this.handleKey(e as KeyboardEvent);
    target.addEventListener('keydown', listener, { capture: true });
    return () => target.removeEventListener('keydown', listener, { capture: true });
  }
}
