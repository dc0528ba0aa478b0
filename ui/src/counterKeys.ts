// The clerk window's keys (bubble phase, after the wedge capture): what is on top takes them (the
// sign-in screen, the PIN prompt, a payment, the scan overlay, the slip preview, a detail, the
// settings, the manager area), else the shortcuts (F1–F4, F9, F10, Enter) and the keypad's digits.

import { amountKeyFromEvent, type AmountKey } from './amountEdit';
import { resultKind } from './payment';

/** What the keys drive (the composed AppState). */
export interface CounterKeys {
  status: 'starting' | 'ready' | 'unreachable';
  kiosk: unknown;
  people: { screen: boolean; onKeydown(e: KeyboardEvent): void };
  approvals: { prompt: unknown; onKeydown(e: KeyboardEvent): void };
  printing: { preview: unknown; closePreview(): void };
  active: Parameters<typeof resultKind>[0] | null;
  scan: unknown;
  detail: unknown;
  settings: unknown;
  manager: unknown;
  amountError: string | null;
  enterAction: 'scan' | 'qr';
  tender: { cycleChannel(): void; cycleMethod(): void };
  finishPayment(): void;
  requestCancel(): void;
  press(key: AmountKey): void;
  closeScan(): void;
  closeDetail(): void;
  closeSettings(): void;
  closeManager(): void;
  dismissNotice(): void;
  openScan(): Promise<void>;
  startQr(): Promise<void>;
  openSettings(): Promise<void>;
  openManager(): void;
}

/** Escape closes what is on top, which takes every other key. */
function closesOnEscape(e: KeyboardEvent, close: () => void): void {
  if (e.key === 'Escape') {
    e.preventDefault();
    close();
  }
}

export function counterKeydown(c: CounterKeys, e: KeyboardEvent): void {
  if (c.status !== 'ready' || e.defaultPrevented || e.isComposing) return;
  if (c.kiosk) {
    // the kiosk screens take their own keys; no clerk shortcut (F1–F3, F9, F10, Enter, digits)
    // acts. The PIN prompt (leaving kiosk mode) still gets its keys.
    if (c.approvals.prompt) c.approvals.onKeydown(e);
    return;
  }
  // the sign-in screen and the PIN prompt take every key: nothing behind them acts
  if (c.people.screen) {
    c.people.onKeydown(e);
    return;
  }
  if (c.approvals.prompt) {
    c.approvals.onKeydown(e);
    return;
  }
  const key = e.key;
  if (c.active) {
    const kind = resultKind(c.active);
    const amountKey = kind === 'success' && !e.ctrlKey && !e.metaKey && !e.altKey ? amountKeyFromEvent(e) : null;
    if (kind && (key === 'Enter' || key === 'Escape')) {
      e.preventDefault();
      c.finishPayment();
    } else if (amountKey && amountKey !== 'back' && amountKey !== 'clear') {
      // the next sale's first digit closes "paid" and is typed
      e.preventDefault();
      c.finishPayment();
      c.press(amountKey);
    } else if (!kind && key === 'Escape') {
      e.preventDefault();
      c.requestCancel();
    }
    return;
  }
  if (c.scan) return closesOnEscape(e, () => c.closeScan());
  // the preview sits over the detail or the manager area: Esc closes it first
  if (c.printing.preview) return closesOnEscape(e, () => c.printing.closePreview());
  if (c.detail) return closesOnEscape(e, () => c.closeDetail());
  // the settings' own fields take every other key
  if (c.settings) return closesOnEscape(e, () => c.closeSettings());
  if (c.manager) return closesOnEscape(e, () => c.closeManager());
  if (key === 'Escape') {
    c.amountError = null;
    c.dismissNotice();
    return;
  }
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const shortcut = SHORTCUTS.get(key);
  if (shortcut) {
    e.preventDefault();
    shortcut(c);
    return;
  }
  const target = e.target as Element | null;
  const tag = target?.tagName ?? '';
  if (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT') return;
  if (key === 'Enter') {
    // a button reached with Tab is activated by Enter as usual
    if (tag === 'BUTTON' || tag === 'A') return;
    e.preventDefault();
    // a charge's preferred tender: the clerk just presses Enter
    void (c.enterAction === 'qr' ? c.startQr() : c.openScan());
    return;
  }
  const amountKey = amountKeyFromEvent(e);
  if (amountKey) {
    e.preventDefault();
    c.press(amountKey);
  }
}

const SHORTCUTS = new Map<string, (c: CounterKeys) => void>([
  ['F1', (c) => void c.openScan()],
  ['F2', (c) => void c.startQr()],
  ['F3', (c) => c.tender.cycleChannel()],
  ['F4', (c) => c.tender.cycleMethod()],
  ['F9', (c) => void c.openSettings()],
  ['F10', (c) => c.openManager()],
]);
