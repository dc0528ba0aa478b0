import { describe, expect, it } from 'vitest';
import { editPin, isPinFormat, newPinProblem, pinFromText, pinKeyFromEvent, pinScreenKey } from './pin';

const ev = (key: string, tagName = 'BODY', mods: Partial<Record<'ctrlKey' | 'metaKey' | 'altKey', boolean>> = {}) => ({
  key,
  ctrlKey: false,
  metaKey: false,
  altKey: false,
  ...mods,
  target: { tagName } as unknown as EventTarget,
});

describe('PIN entry', () => {
  it('appends digits up to 8, backspace drops one, clear empties', () => {
    let pin = '';
    for (const d of '123456789') pin = editPin(pin, d as '1');
    expect(pin).toBe('12345678');
    expect(editPin(pin, 'back')).toBe('1234567');
    expect(editPin('', 'back')).toBe('');
    expect(editPin(pin, 'clear')).toBe('');
  });

  it('keeps only the digits of typed or pasted text', () => {
    expect(pinFromText('12a3 4')).toBe('1234');
    expect(pinFromText('１２34')).toBe('34'); // full-width digits are not PIN digits
    expect(pinFromText('0123456789')).toBe('01234567');
  });

  it('checks the 4–8 digit format', () => {
    expect(isPinFormat('123')).toBe(false);
    expect(isPinFormat('1234')).toBe(true);
    expect(isPinFormat('00000000')).toBe(true);
    expect(isPinFormat('123456789')).toBe(false);
    expect(isPinFormat('12a4')).toBe(false);
    expect(isPinFormat('')).toBe(false);
  });

  it('says why a new PIN typed twice cannot be used', () => {
    expect(newPinProblem('12', '12', 'clerk')).toBe('pinFormat');
    expect(newPinProblem('1234', '1235', 'clerk')).toBe('pinMismatch');
    expect(newPinProblem('1234', '1234', 'clerk')).toBeNull();
    // A manager's new PIN has 6–8 digits.
    expect(newPinProblem('12345', '12345', 'manager')).toBe('managerPinShort');
    expect(newPinProblem('123456', '123457', 'manager')).toBe('pinMismatch');
    expect(newPinProblem('123456', '123456', 'manager')).toBeNull();
  });

  it('maps keyboard keys to PIN keys', () => {
    expect(pinKeyFromEvent(ev('7'))).toBe('7');
    expect(pinKeyFromEvent(ev('Backspace'))).toBe('back');
    expect(pinKeyFromEvent(ev('Delete'))).toBe('clear');
    expect(pinKeyFromEvent(ev('a'))).toBeNull();
    expect(pinKeyFromEvent(ev('7', 'BODY', { ctrlKey: true }))).toBeNull();
  });

  it('on a PIN screen leaves typing in fields and Enter on buttons alone', () => {
    expect(pinScreenKey(ev('5'))).toBe('5');
    expect(pinScreenKey(ev('5', 'INPUT'))).toBeNull(); // the field types it itself
    expect(pinScreenKey(ev('Backspace', 'INPUT'))).toBeNull();
    expect(pinScreenKey(ev('Enter', 'INPUT'))).toBe('enter');
    expect(pinScreenKey(ev('Enter', 'SELECT'))).toBe('enter');
    expect(pinScreenKey(ev('Enter', 'BUTTON'))).toBeNull(); // the button's own click
    expect(pinScreenKey(ev('Escape', 'INPUT'))).toBe('escape');
    expect(pinScreenKey(ev('F1'))).toBeNull();
  });
});
