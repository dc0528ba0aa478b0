// PIN entry: what a key does to the PIN typed so far, and the 4–8 digit format the core also
// checks. A PIN is text, never a number.

export const PIN_MIN = 4;
export const PIN_MAX = 8;
/** A new manager PIN's fewest digits (the core checks it too; older PINs still sign in). */
export const MANAGER_PIN_MIN = 6;

export type PinKey = '0' | '1' | '2' | '3' | '4' | '5' | '6' | '7' | '8' | '9' | 'back' | 'clear';

/** The PIN pad's digit keys in pad order (7 8 9 / 4 5 6 / 1 2 3 / 0). */
export const PIN_PAD_DIGITS: readonly PinKey[] = ['7', '8', '9', '4', '5', '6', '1', '2', '3', '0'];

/** The PIN after a key: digits append up to PIN_MAX, `back` drops the last, `clear` empties it. */
export function editPin(pin: string, key: PinKey): string {
  if (key === 'back') return pin.slice(0, -1);
  if (key === 'clear') return '';
  return pin.length >= PIN_MAX ? pin : pin + key;
}

/** What a field's text becomes as a PIN: its digits only, at most PIN_MAX (paste, typing). */
export function pinFromText(text: string): string {
  return text.replace(/[^0-9]/g, '').slice(0, PIN_MAX);
}

/** 4–8 digits. */
export function isPinFormat(pin: string): boolean {
  return /^[0-9]+$/.test(pin) && pin.length >= PIN_MIN && pin.length <= PIN_MAX;
}

/** The PIN key a keyboard key means (digits on the main row and the numeric pad, Backspace, Delete). */
export function pinKeyFromEvent(e: Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'altKey'>): PinKey | null {
  if (e.ctrlKey || e.metaKey || e.altKey) return null;
  if (/^[0-9]$/.test(e.key)) return e.key as PinKey;
  if (e.key === 'Backspace') return 'back';
  if (e.key === 'Delete') return 'clear';
  return null;
}

/** Why a new PIN typed twice for a user of `role` cannot be used, or null: the message key. */
export function newPinProblem(
  pin: string,
  again: string,
  role: 'manager' | 'clerk',
): 'pinFormat' | 'managerPinShort' | 'pinMismatch' | null {
  if (!isPinFormat(pin)) return 'pinFormat';
  if (role === 'manager' && pin.length < MANAGER_PIN_MIN) return 'managerPinShort';
  if (pin !== again) return 'pinMismatch';
  return null;
}

/** What a key event on a PIN screen (sign-in, PIN prompt) means, or null to leave it alone. A
 * focused text field types its own digits, a focused button takes its own Enter. */
export function pinScreenKey(
  e: Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'altKey'> & { target: EventTarget | null },
): PinKey | 'enter' | 'escape' | null {
  const tag = (e.target as Element | null)?.tagName ?? '';
  if (e.key === 'Escape') return 'escape';
  if (e.key === 'Enter') return tag === 'BUTTON' || tag === 'A' || tag === 'TEXTAREA' ? null : 'enter';
  if (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT') return null;
  return pinKeyFromEvent(e);
}
