import { describe, expect, it } from 'vitest';
import { WedgeCapture, maskEcho, type EntryView, type KeyLike, type WedgeCaptureHandlers } from './wedgeCapture';

interface FakeKey extends KeyLike {
  prevented: boolean;
  stopped: boolean;
}

function key(k: string, t: number, extra: Partial<KeyLike> = {}): FakeKey {
  let code: string;
  if (/^[0-9]$/.test(k)) code = `Digit${k}`;
  else if (/^[a-z]$/i.test(k)) code = `Key${k.toUpperCase()}`;
  else code = k; // Enter, Escape, Backspace, Delete, F1 …
  const ev: FakeKey = {
    code,
    key: k,
    timeStamp: t,
    prevented: false,
    stopped: false,
    preventDefault() {
      ev.prevented = true;
    },
    stopPropagation() {
      ev.stopped = true;
    },
    ...extra,
  };
  return ev;
}

function seq(text: string, start: number, gap: number): FakeKey[] {
  return [...text].map((c, i) => key(c, start + i * gap));
}

function harness(scanMode: boolean, isOff?: () => boolean) {
  const log = {
    entries: [] as EntryView[],
    scans: [] as string[],
    manual: [] as string[],
    passive: [] as string[],
    snapshots: 0,
    restores: 0,
  };
  const field = { value: '' };
  let appAmount = '';
  const h: WedgeCaptureHandlers = {
    isOff,
    isScanMode: () => scanMode,
    onEntry: (v) => log.entries.push(v),
    onScan: (c) => log.scans.push(c),
    onManualSubmit: (t) => log.manual.push(t),
    snapshot: () => {
      log.snapshots++;
      const saved = appAmount;
      return () => {
        log.restores++;
        appAmount = saved;
      };
    },
    onPassiveScan: (c) => log.passive.push(c),
    focusedField: () => field,
  };
  const cap = new WedgeCapture(h);
  /** passive mode: what the app and a focused field would do with a key that was not stopped */
  const deliver = (ev: FakeKey) => {
    cap.handleKey(ev);
    if (!ev.prevented && !ev.stopped && /^[0-9]$/.test(ev.key)) {
      appAmount += ev.key;
      field.value += ev.key;
    }
  };
  return {
    cap,
    log,
    field,
    deliver,
    get amount() {
      return appAmount;
    },
    set amount(v: string) {
      appAmount = v;
    },
    last: () => log.entries.at(-1),
  };
}

describe('maskEcho', () => {
  it('shows the first 4 characters and masks the rest in groups of 4', () => {
    expect(maskEcho('280123456789012345')).toBe('2801 •••• •••• •••• ••');
    expect(maskEcho('12')).toBe('12');
    expect(maskEcho('')).toBe('');
  });
});

describe('WedgeCapture in scan mode', () => {
  it('captures every key, echoes a fast run masked and reports the scan', () => {
    const t = harness(true);
    const keys = [...seq('2801234567890123', 1000, 8), key('Enter', 1000 + 16 * 8)];
    for (const k of keys) t.cap.handleKey(k);
    expect(keys.every((k) => k.prevented && k.stopped)).toBe(true);
    expect(t.log.scans).toEqual(['2801234567890123']);
    expect(t.log.manual).toEqual([]);
    // while the run was coming in, the echo showed it masked and the manual text stayed empty
    const mid = t.log.entries[10];
    expect(mid.manual).toBe('');
    expect(mid.echo).toBe('2801 •••• •••');
    expect(t.last()).toEqual({ manual: '', echo: '' });
  });

  it('lets slow typing into the manual text and submits it with Enter', () => {
    const t = harness(true);
    for (const k of [...seq('13456', 0, 200), key('Backspace', 1100), ...seq('7', 1300, 0)]) t.cap.handleKey(k);
    expect(t.last()).toEqual({ manual: '13457', echo: '' });
    const enter = key('Enter', 1600);
    t.cap.handleKey(enter);
    expect(enter.prevented).toBe(true);
    expect(t.log.manual).toEqual(['13457']);
    expect(t.log.scans).toEqual([]);
  });

  it('gives a short fast burst of a person back to the manual text', () => {
    const t = harness(true);
    for (const k of [...seq('12', 0, 200), ...seq('34', 500, 20), ...seq('5', 900, 0)]) t.cap.handleKey(k);
    expect(t.last()).toEqual({ manual: '12345', echo: '' });
    t.cap.handleKey(key('Enter', 905));
    expect(t.log.manual).toEqual(['12345']);
  });

  it('leaves Esc alone and lets Delete clear the manual text', () => {
    const t = harness(true);
    for (const k of seq('99', 0, 300)) t.cap.handleKey(k);
    const del = key('Delete', 700);
    t.cap.handleKey(del);
    expect(t.last()?.manual).toBe('');
    const esc = key('Escape', 800);
    t.cap.handleKey(esc);
    expect(esc.prevented).toBe(false);
    expect(esc.stopped).toBe(false);
  });

  it('does not submit an empty manual text', () => {
    const t = harness(true);
    t.cap.handleKey(key('Enter', 0));
    expect(t.log.manual).toEqual([]);
  });
});

describe('WedgeCapture outside scan mode', () => {
  it('does not touch normal typing', () => {
    const t = harness(false);
    const keys = [...seq('1250', 0, 150), key('Enter', 700)];
    for (const k of keys) t.deliver(k);
    expect(keys.some((k) => k.prevented || k.stopped)).toBe(false);
    expect(t.amount).toBe('1250');
    expect(t.log.passive).toEqual([]);
  });

  it('undoes what a scan typed, swallows its Enter and reports it', () => {
    const t = harness(false);
    for (const k of seq('12', 0, 300)) t.deliver(k); // the clerk typed 12
    expect(t.amount).toBe('12');
    const scan = [...seq('2801234567890123', 2000, 6)];
    for (const k of scan) t.deliver(k);
    expect(t.amount).toBe('122801234567890123');
    expect(t.field.value).toBe('122801234567890123');
    const enter = key('Enter', 2000 + 16 * 6);
    t.deliver(enter);
    expect(enter.prevented && enter.stopped).toBe(true);
    expect(t.amount).toBe('12');
    expect(t.field.value).toBe('12');
    expect(t.log.passive).toEqual(['2801234567890123']);
    expect(t.log.scans).toEqual([]);
  });
});

describe('WedgeCapture settings', () => {
  it('applies the thresholds: a shorter or slower scanner is detected once they say so', () => {
    const t = harness(false);
    const slow = () => [...seq('123456', 5000, 80), key('Enter', 5000 + 6 * 80)];
    for (const k of slow()) t.deliver(k);
    expect(t.log.passive).toEqual([]);
    expect(t.cap.configure({ minLength: 6, maxGapMs: 100 })).toBe(true);
    expect(t.cap.detector.options).toMatchObject({ minLength: 6, maxGapMs: 100, maxEnterGapMs: 100 });
    for (const k of slow().map((k) => ({ ...k, timeStamp: k.timeStamp + 10_000 }))) t.deliver(k);
    expect(t.log.passive).toEqual(['123456']);
  });

  it('keeps the old thresholds when given impossible ones', () => {
    const t = harness(false);
    expect(t.cap.configure({ minLength: 0, maxGapMs: 30 })).toBe(false);
    expect(t.cap.detector.options).toMatchObject({ minLength: 8, maxGapMs: 50 });
  });

  it('switched off: passive mode leaves keys alone and takes no snapshot', () => {
    const t = harness(false);
    t.cap.configure({ enabled: false });
    expect(t.cap.enabled).toBe(false);
    const keys = [...seq('2801234567890123', 2000, 6), key('Enter', 2000 + 16 * 6)];
    for (const k of keys) t.deliver(k);
    expect(keys.some((k) => k.prevented || k.stopped)).toBe(false);
    expect(t.log.passive).toEqual([]);
    expect(t.log.snapshots).toBe(0);
    expect(t.amount).toBe('2801234567890123');
  });

  it('switched off: in scan mode a fast run is manual text (no echo) and Enter submits it as typed', () => {
    const t = harness(true);
    t.cap.configure({ enabled: false });
    const keys = [...seq('2801234567890123', 1000, 8), key('Enter', 1000 + 16 * 8)];
    for (const k of keys) t.cap.handleKey(k);
    expect(keys.every((k) => k.prevented)).toBe(true);
    expect(t.log.entries.every((e) => e.echo === '')).toBe(true);
    expect(t.log.entries[5].manual).toBe('280123');
    expect(t.log.scans).toEqual([]);
    expect(t.log.manual).toEqual(['2801234567890123']);
  });

  it('off for a while (isOff): every key is left alone in either mode, and a run cut by it is never finished', () => {
    let off = true;
    for (const scanMode of [false, true]) {
      const t = harness(scanMode, () => off);
      off = true;
      const keys = [...seq('2801234567890123', 2000, 6), key('Enter', 2000 + 16 * 6)];
      for (const k of keys) t.deliver(k);
      expect(keys.some((k) => k.prevented || k.stopped)).toBe(false);
      expect(t.log).toMatchObject({ passive: [], scans: [], manual: [], entries: [], snapshots: 0 });
      // a run begun while off ends while on: not a scan
      for (const k of seq('28012345', 5000, 6)) t.deliver(k);
      off = false;
      for (const k of [...seq('90123', 5048, 6), key('Enter', 5078)]) t.deliver(k);
      expect(t.log.passive).toEqual([]);
      expect(t.log.scans).toEqual([]);
      // on again: read as usual
      for (const k of [...seq('2801234567890123', 9000, 6), key('Enter', 9000 + 16 * 6)]) t.deliver(k);
      expect(scanMode ? t.log.scans : t.log.passive).toEqual(['2801234567890123']);
    }
  });
});
