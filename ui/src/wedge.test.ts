import { describe, expect, it } from 'vitest';
import { WedgeDetector, keyChar, type WedgeKey, type WedgeResult } from './wedge';

/** Key events for a string typed with a fixed gap, digits on the digit row, letters on KeyA–KeyZ. */
function typed(text: string, start: number, gap: number, opts: { numpad?: boolean } = {}): WedgeKey[] {
  return [...text].map((ch, i) => {
    let code: string;
    if (/[0-9]/.test(ch)) code = opts.numpad ? `Numpad${ch}` : `Digit${ch}`;
    else if (/[a-z]/i.test(ch)) code = `Key${ch.toUpperCase()}`;
    else code = 'Unidentified';
    return { code, key: ch, timeStamp: start + i * gap };
  });
}

const enter = (t: number, code = 'Enter'): WedgeKey => ({ code, key: 'Enter', timeStamp: t });

function feedAll(d: WedgeDetector, keys: WedgeKey[]): WedgeResult[] {
  return keys.map((k) => d.feed(k));
}

function scans(results: WedgeResult[]): string[] {
  return results.flatMap((r) => (r.kind === 'scan' ? [r.code] : []));
}

describe('WedgeDetector', () => {
  it('detects a fast run ending in Enter as one scan', () => {
    const d = new WedgeDetector();
    const keys = [...typed('134567890123456789', 1000, 8), enter(1000 + 18 * 8)];
    const results = feedAll(d, keys);
    expect(scans(results)).toEqual(['134567890123456789']);
    expect(results.at(-1)).toEqual({ kind: 'scan', code: '134567890123456789' });
  });

  it('does not take slow typing for a scan', () => {
    const d = new WedgeDetector();
    const keys = [...typed('134567890123', 0, 180), enter(12 * 180)];
    const results = feedAll(d, keys);
    expect(scans(results)).toEqual([]);
    const last = results.at(-1)!;
    expect(last.kind).toBe('enter');
  });

  it('needs at least minLength characters: 7 are not a scan, 8 are', () => {
    const d = new WedgeDetector();
    expect(scans(feedAll(d, [...typed('1234567', 0, 10), enter(70)]))).toEqual([]);
    expect(scans(feedAll(d, [...typed('12345678', 1000, 10), enter(1080)]))).toEqual(['12345678']);
  });

  it('counts numpad digits and NumpadEnter', () => {
    const d = new WedgeDetector();
    const keys = [...typed('28012345678901234', 0, 5, { numpad: true }), enter(17 * 5, 'NumpadEnter')];
    expect(scans(feedAll(d, keys))).toEqual(['28012345678901234']);
  });

  it('reads digits from code, so a French AZERTY layout still yields digits', () => {
    const azerty: Record<string, string> = {
      '1': '&',
      '2': 'é',
      '3': '"',
      '4': "'",
      '5': '(',
      '6': '-',
      '7': 'è',
      '8': '_',
      '9': 'ç',
      '0': 'à',
    };
    const code = '1234567890123456';
    const keys: WedgeKey[] = [...code].map((d, i) => ({ code: `Digit${d}`, key: azerty[d], timeStamp: 500 + i * 12 }));
    keys.push(enter(500 + code.length * 12));
    expect(scans(feedAll(new WedgeDetector(), keys))).toEqual([code]);
  });

  it('uppercases letters read from KeyA–KeyZ', () => {
    const d = new WedgeDetector();
    const keys = [...typed('abc12345xyz', 0, 10), enter(110)];
    expect(scans(feedAll(d, keys))).toEqual(['ABC12345XYZ']);
  });

  it('counts a slow first key out: the run starts at the first fast pair', () => {
    const d = new WedgeDetector();
    // a person types "9", the scanner starts 700 ms later with 8 fast digits
    const keys = [...typed('9', 0, 0), ...typed('12345678', 700, 10), enter(700 + 80)];
    const results = feedAll(d, keys);
    expect(scans(results)).toEqual(['12345678']);
    const second = results[1];
    expect(second).toMatchObject({ kind: 'char', char: '1', runStart: true, abandoned: '9', run: '1', fast: false });
    expect(results[2]).toMatchObject({ kind: 'char', runStart: false, run: '12', fast: true });
  });

  it('does not count a slow first key towards minLength', () => {
    const d = new WedgeDetector();
    // slow "9" + 7 fast digits = 8 characters, but only 7 were fast
    const keys = [...typed('9', 0, 0), ...typed('1234567', 700, 10), enter(770)];
    expect(scans(feedAll(d, keys))).toEqual([]);
  });

  it('splits a code at a long pause in the middle', () => {
    const d = new WedgeDetector();
    // 6 + 6 characters with a 400 ms pause: neither half is long enough
    const keys = [...typed('123456', 0, 10), ...typed('789012', 450, 10), enter(510)];
    expect(scans(feedAll(d, keys))).toEqual([]);
    // 10 + 10 with a pause: only the second half is the scan
    const d2 = new WedgeDetector();
    const keys2 = [...typed('1111122222', 0, 10), ...typed('3333344444', 600, 10), enter(700)];
    expect(scans(feedAll(d2, keys2))).toEqual(['3333344444']);
  });

  it('needs the Enter to follow the run quickly', () => {
    const d = new WedgeDetector();
    expect(scans(feedAll(d, [...typed('12345678', 0, 10), enter(70 + 500)]))).toEqual([]);
  });

  it('ignores modifier keys inside a run', () => {
    const d = new WedgeDetector();
    const keys: WedgeKey[] = [];
    let t = 0;
    for (const ch of 'AB123456') {
      if (/[A-Z]/.test(ch)) keys.push({ code: 'ShiftLeft', key: 'Shift', timeStamp: (t += 4) });
      keys.push({ code: /[0-9]/.test(ch) ? `Digit${ch}` : `Key${ch}`, key: ch, timeStamp: (t += 4) });
    }
    keys.push(enter((t += 4)));
    const results = feedAll(d, keys);
    expect(results.filter((r) => r.kind === 'ignored')).toHaveLength(2);
    expect(scans(results)).toEqual(['AB123456']);
  });

  it('ends a run at a non-character key and at auto-repeat', () => {
    const d = new WedgeDetector();
    const keys = [
      ...typed('1234', 0, 10),
      { code: 'Backspace', key: 'Backspace', timeStamp: 40 },
      ...typed('5678', 50, 10),
      enter(90),
    ];
    const results = feedAll(d, keys);
    expect(results[4]).toEqual({ kind: 'other', abandoned: '1234' });
    expect(scans(results)).toEqual([]);

    const held: WedgeKey[] = Array.from({ length: 12 }, (_, i) => ({
      code: 'Digit0',
      key: '0',
      timeStamp: 500 + i * 33,
      repeat: i > 0,
    }));
    expect(scans(feedAll(d, [...held, enter(500 + 12 * 33)]))).toEqual([]);
  });

  it('reports the run start so the capture can snapshot before the first key lands', () => {
    const d = new WedgeDetector();
    const [a, b] = feedAll(d, typed('12', 0, 10));
    expect(a).toMatchObject({ kind: 'char', runStart: true, abandoned: '', fast: false });
    expect(b).toMatchObject({ kind: 'char', runStart: false, fast: true });
    expect(d.current).toBe('12');
  });

  it('takes its options from the settings', () => {
    const d = new WedgeDetector({ minLength: 4, maxGapMs: 100 });
    expect(d.options).toEqual({ minLength: 4, maxGapMs: 100, maxEnterGapMs: 100 });
    expect(scans(feedAll(d, [...typed('1234', 0, 80), enter(320)]))).toEqual(['1234']);
    d.setOptions({ maxGapMs: 30 });
    expect(scans(feedAll(d, [...typed('1234', 1000, 40), enter(1160)]))).toEqual([]);
    expect(() => d.setOptions({ minLength: 0 })).toThrow(RangeError);
  });

  it('reads other printable keys from key and rejects named keys', () => {
    expect(keyChar({ code: 'Minus', key: '-' })).toBe('-');
    expect(keyChar({ code: 'Tab', key: 'Tab' })).toBeNull();
    expect(keyChar({ code: 'Space', key: ' ' })).toBeNull();
    expect(keyChar({ code: 'F1', key: 'F1' })).toBeNull();
    expect(keyChar({ code: 'Digit7', key: 'Process' })).toBe('7'); // IME composing
  });
});
