// Plain string editing of the typed amount (keypad and physical keyboard). This is NOT money logic:
// the text is never turned into a number here; the core parses and validates it (`check_amount`).
// Limits only keep the display sane: at most one dot, at most two digits after it, at most 8 digits
// before it. Small conveniences: a leading "0" is replaced by the next digit ("0" then "5" → "5"),
// "00" on an empty display types one "0", and "." on an empty display types "0.".

export type AmountKey =
  | '0'
  | '1'
  | '2'
  | '3'
  | '4'
  | '5'
  | '6'
  | '7'
  | '8'
  | '9'
  | '00'
  | '.'
  | 'back'
  | 'clear';

export const MAX_INTEGER_DIGITS = 8;
export const MAX_FRACTION_DIGITS = 2;

function typeDigit(text: string, d: string): string {
  const dot = text.indexOf('.');
  if (dot >= 0) {
    if (text.length - dot - 1 >= MAX_FRACTION_DIGITS) return text;
    return text + d;
  }
  if (text === '0') return d; // no leading zeros ("0" → "5"; "0" then "0" stays "0")
  if (text.length >= MAX_INTEGER_DIGITS) return text;
  return text + d;
}

export function editAmount(text: string, key: AmountKey): string {
  switch (key) {
    case 'clear':
      return '';
    case 'back':
      return text.slice(0, -1);
    case '.':
      if (text.includes('.')) return text;
      return text === '' ? '0.' : text + '.';
    case '00':
      return typeDigit(typeDigit(text, '0'), '0');
    default:
      return typeDigit(text, key);
  }
}

/**
 * Maps a physical key to an amount key, or null. Characters come from `KeyboardEvent.key` (what the
 * keyboard layout types); the numpad's decimal key counts as "." whatever it types (some layouts
 * type ",").
 */
export function amountKeyFromEvent(e: { key: string; code: string }): AmountKey | null {
  if (/^[0-9]$/.test(e.key)) return e.key as AmountKey;
  if (e.key === '.' || e.code === 'NumpadDecimal') return '.';
  if (e.key === 'Backspace') return 'back';
  if (e.key === 'Delete') return 'clear';
  return null;
}
