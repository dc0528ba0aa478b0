import { describe, expect, it } from 'vitest';
import { amountKeyFromEvent, editAmount, type AmountKey } from './amountEdit';

const type = (keys: AmountKey[], from = ''): string => keys.reduce(editAmount, from);

describe('editAmount', () => {
  it('types digits and a dot', () => {
    expect(type(['1', '2', '.', '3', '4'])).toBe('12.34');
  });

  it('allows one dot and two digits after it', () => {
    expect(type(['1', '.', '.', '5', '6', '7'])).toBe('1.56');
    expect(type(['1', '.', '5', '00'])).toBe('1.50');
  });

  it('allows at most 8 digits before the dot', () => {
    expect(type(['1', '2', '3', '4', '5', '6', '7', '8', '9'])).toBe('12345678');
    expect(type(['1', '2', '3', '4', '5', '6', '7', '00'])).toBe('12345670');
    expect(type(['.', '5'], '12345678')).toBe('12345678.5');
  });

  it('does not keep leading zeros', () => {
    expect(type(['0', '5'])).toBe('5');
    expect(type(['00'])).toBe('0');
    expect(type(['0', '0', '0'])).toBe('0');
    expect(type(['.'])).toBe('0.');
    expect(type(['0', '.', '0', '5'])).toBe('0.05');
  });

  it('backspaces and clears', () => {
    expect(type(['back'], '12.3')).toBe('12.');
    expect(type(['back'], '')).toBe('');
    expect(type(['clear'], '12.34')).toBe('');
  });
});

describe('amountKeyFromEvent', () => {
  it('maps characters from key and the numpad decimal from code', () => {
    expect(amountKeyFromEvent({ key: '7', code: 'Numpad7' })).toBe('7');
    expect(amountKeyFromEvent({ key: '.', code: 'Period' })).toBe('.');
    expect(amountKeyFromEvent({ key: ',', code: 'NumpadDecimal' })).toBe('.');
    expect(amountKeyFromEvent({ key: 'Backspace', code: 'Backspace' })).toBe('back');
    expect(amountKeyFromEvent({ key: 'Delete', code: 'Delete' })).toBe('clear');
    expect(amountKeyFromEvent({ key: 'a', code: 'KeyA' })).toBeNull();
    expect(amountKeyFromEvent({ key: '&', code: 'Digit1' })).toBeNull(); // AZERTY without Shift types "&"
  });
});
