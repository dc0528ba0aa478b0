import { describe, expect, it } from 'vitest';
import type { ScanEvent, Scanners } from './api';
import { translate } from './i18n';
import {
  CUSTOM,
  cameraLine,
  formFromScanners,
  isOwnSource,
  parseCount,
  resolutionOptions,
  scanSound,
  scannerStatus,
  scannersFromForm,
  serialLine,
  wedgeConfig,
} from './scanners';
import { scannersFixture } from './testFixtures';

const t = (k: Parameters<typeof translate>[1], v?: Record<string, string | number>) => translate('zh', k, v);

const scanners = scannersFixture;

function event(p: Partial<ScanEvent>): ScanEvent {
  return { source: 'serial', codeShown: '2800**********10', atMs: 1, outcome: { kind: 'not_waiting' }, message: 'x', ...p };
}

const KEYS = {
  top: ['camera', 'dedupe_window_ms', 'serial', 'wedge'],
  serial: ['baud', 'data_bits', 'enabled', 'parity', 'port', 'stale_after_ms', 'stop_bits', 'terminator'],
  wedge: ['enabled', 'max_gap_ms', 'min_length'],
  camera: ['beep', 'device', 'enabled', 'fps', 'height', 'width'],
};

function expectScannersShape(s: Scanners) {
  expect(Object.keys(s).sort()).toEqual(KEYS.top);
  expect(Object.keys(s.serial).sort()).toEqual(KEYS.serial);
  expect(Object.keys(s.wedge).sort()).toEqual(KEYS.wedge);
  expect(Object.keys(s.camera).sort()).toEqual(KEYS.camera);
  for (const v of [
    s.dedupe_window_ms,
    s.serial.baud,
    s.serial.data_bits,
    s.serial.stop_bits,
    s.serial.stale_after_ms,
    s.wedge.min_length,
    s.wedge.max_gap_ms,
    s.camera.width,
    s.camera.height,
    s.camera.fps,
  ]) {
    expect(typeof v).toBe('number');
    expect(Number.isInteger(v)).toBe(true);
  }
}

describe('scan events', () => {
  it('the UI owns wedge and manual scans', () => {
    expect(isOwnSource('wedge')).toBe(true);
    expect(isOwnSource('manual')).toBe(true);
    expect(isOwnSource('serial')).toBe(false);
    expect(isOwnSource('camera')).toBe(false);
  });

  it('beeps for serial and camera reads a payment took or refused, camera only when its beep is on', () => {
    const charging = { kind: 'charging' as const, payment: {} as never };
    const rejected = { kind: 'rejected' as const, code: 'not_payment_code' };
    const s = scanners();
    expect(scanSound(event({ source: 'serial', outcome: charging }), s)).toBe('read');
    expect(scanSound(event({ source: 'serial', outcome: rejected }), s)).toBe('read');
    expect(scanSound(event({ source: 'camera', outcome: charging }), s)).toBe('read');
    expect(scanSound(event({ source: 'camera', outcome: rejected }), null)).toBe('read');
    const quiet = scanners({ camera: { ...s.camera, beep: false } });
    expect(scanSound(event({ source: 'camera', outcome: rejected }), quiet)).toBeNull();
    expect(scanSound(event({ source: 'serial', outcome: rejected }), quiet)).toBe('read');
    // unused reads and the UI's own scans are silent
    expect(scanSound(event({ source: 'serial', outcome: { kind: 'not_waiting' } }), s)).toBeNull();
    expect(scanSound(event({ source: 'camera', outcome: { kind: 'duplicate' } }), s)).toBeNull();
    expect(scanSound(event({ source: 'wedge', outcome: charging }), s)).toBeNull();
    expect(scanSound(event({ source: 'manual', outcome: rejected }), s)).toBeNull();
  });

  it('takes the wedge thresholds from the settings', () => {
    expect(wedgeConfig(scanners({ wedge: { enabled: false, min_length: 12, max_gap_ms: 30 } }))).toEqual({
      enabled: false,
      minLength: 12,
      maxGapMs: 30,
    });
  });
});

describe('scanner status', () => {
  it('names each state with its level', () => {
    expect(serialLine(t, { state: 'connected', port: '/dev/ttyUSB0' })).toEqual({
      kind: 'serial',
      level: 'ok',
      text: '串口扫码枪已连接（/dev/ttyUSB0）',
    });
    expect(serialLine(t, { state: 'connecting', port: 'COM3' }).level).toBe('pending');
    const lost = serialLine(t, { state: 'disconnected', port: 'COM3', reason: '设备已拔出', retry_in_ms: 800 });
    expect(lost.level).toBe('pending');
    expect(lost.text).toContain('设备已拔出');
    expect(cameraLine(t, { state: 'running', source: 'USB Camera' }, true).level).toBe('ok');
    expect(cameraLine(t, { state: 'starting' }, true).level).toBe('pending');
    expect(cameraLine(t, { state: 'failed', reason: 'no device' }, true)).toEqual({
      kind: 'camera',
      level: 'bad',
      text: '摄像头未连接：no device',
    });
    expect(cameraLine(t, { state: 'off' }, false).level).toBe('idle');
    expect(cameraLine(t, { state: 'off' }, true).level).toBe('pending');
  });

  it('shows the pill only for enabled serial or camera, at the worst level', () => {
    const base = scanners();
    expect(scannerStatus(t, base, { serial: { state: 'off' }, camera: { state: 'off' } }, false)).toBeNull();
    expect(scannerStatus(t, null, null, false)).toBeNull();

    const both = scanners({ serial: { ...base.serial, enabled: true, port: 'COM3' }, camera: { ...base.camera, enabled: true } });
    const connected = { state: 'connected' as const, port: 'COM3' };
    expect(scannerStatus(t, both, { serial: connected, camera: { state: 'off' } }, false)?.level).toBe('ok');
    expect(scannerStatus(t, both, { serial: connected, camera: { state: 'running', source: 'cam' } }, true)?.level).toBe('ok');
    expect(scannerStatus(t, both, { serial: { state: 'connecting', port: 'COM3' }, camera: { state: 'off' } }, false)?.level).toBe(
      'pending',
    );
    const failed = scannerStatus(t, both, { serial: connected, camera: { state: 'failed', reason: 'busy' } }, true);
    expect(failed?.level).toBe('bad');
    expect(failed?.lines.map((l) => l.kind)).toEqual(['serial', 'camera']);

    const cameraOnly = scanners({ camera: { ...base.camera, enabled: true } });
    expect(scannerStatus(t, cameraOnly, { serial: { state: 'off' }, camera: { state: 'off' } }, false)).toEqual({
      level: 'idle',
      lines: [{ kind: 'camera', level: 'idle', text: '摄像头待机（扫付款码时打开）' }],
    });
  });
});

describe('settings form', () => {
  it('parses whole numbers only', () => {
    expect(parseCount('9600')).toBe(9600);
    expect(parseCount(' 0 ')).toBe(0);
    expect(parseCount('007')).toBe(7);
    expect(parseCount('999999999')).toBe(999_999_999);
    for (const bad of ['', ' ', '1.5', '-1', '1e3', '12a', '0x10', '１２', '1000000000', '+5']) {
      expect(parseCount(bad), bad).toBeNull();
    }
  });

  it('round-trips the settings into exactly the Scanners shape', () => {
    const s = scanners({
      dedupe_window_ms: 1500,
      serial: {
        enabled: true,
        port: '/dev/ttyUSB0',
        baud: 115200,
        data_bits: 7,
        parity: 'even',
        stop_bits: 2,
        terminator: 'crlf',
        stale_after_ms: 300,
      },
      wedge: { enabled: false, min_length: 10, max_gap_ms: 40 },
      camera: { enabled: true, device: '0', width: 640, height: 480, fps: 15, beep: false },
    });
    const form = formFromScanners(s, [{ name: '/dev/ttyUSB0', description: 'USB serial' }], [{ device: '0', name: 'Cam' }]);
    expect(form.serial.portChoice).toBe('/dev/ttyUSB0');
    expect(form.serial.baudChoice).toBe('115200');
    expect(form.camera.deviceChoice).toBe('0');
    expect(form.camera.resolution).toBe('640x480');
    const r = scannersFromForm(form);
    expect(r).toEqual({ ok: true, settings: s });
    if (r.ok) expectScannersShape(r.settings);
  });

  it('uses the free-text fields for an unlisted port, baud or camera and keeps an unusual resolution', () => {
    const s = scanners({
      serial: { ...scanners().serial, enabled: true, port: '/dev/serial/by-id/usb-Scanner-if00', baud: 4800 },
      camera: { ...scanners().camera, device: 'files:frames', width: 800, height: 600 },
    });
    const form = formFromScanners(s, [{ name: '/dev/ttyS0', description: '' }], []);
    expect(form.serial.portChoice).toBe(CUSTOM);
    expect(form.serial.portCustom).toBe('/dev/serial/by-id/usb-Scanner-if00');
    expect(form.serial.baudChoice).toBe(CUSTOM);
    expect(form.serial.baudCustom).toBe('4800');
    expect(form.camera.deviceChoice).toBe(CUSTOM);
    expect(form.camera.deviceCustom).toBe('files:frames');
    expect(resolutionOptions(form.camera.resolution)).toEqual(['640x480', '1280x720', '1920x1080', '800x600']);
    expect(resolutionOptions('1280x720')).toEqual(['640x480', '1280x720', '1920x1080']);
    expect(scannersFromForm(form)).toEqual({ ok: true, settings: s });

    // picking from the lists replaces the typed values; free text is trimmed
    form.serial.portChoice = '/dev/ttyS0';
    form.serial.baudChoice = '19200';
    form.camera.deviceChoice = CUSTOM;
    form.camera.deviceCustom = '  /dev/video2 ';
    form.camera.resolution = '1920x1080';
    const r = scannersFromForm(form);
    expect(r.ok && r.settings.serial.port).toBe('/dev/ttyS0');
    expect(r.ok && r.settings.serial.baud).toBe(19200);
    expect(r.ok && r.settings.camera.device).toBe('/dev/video2');
    expect(r.ok && [r.settings.camera.width, r.settings.camera.height]).toEqual([1920, 1080]);
    // an empty port with the serial scanner off is the default, not an error
    expect(scannersFromForm(formFromScanners(scanners()))).toEqual({ ok: true, settings: scanners() });
  });

  it('names the first field that is not a whole number (ranges are the core’s)', () => {
    const cases: [(f: ReturnType<typeof formFromScanners>) => void, string][] = [
      [(f) => (f.dedupeWindowMs = '2s'), 'dedupeWindowMs'],
      [(f) => ((f.serial.baudChoice = CUSTOM), (f.serial.baudCustom = '')), 'serialBaud'],
      [(f) => (f.serial.staleAfterMs = '0.5'), 'serialStaleAfterMs'],
      [(f) => (f.wedge.minLength = '-8'), 'wedgeMinLength'],
      [(f) => (f.wedge.maxGapMs = ''), 'wedgeMaxGapMs'],
      [(f) => (f.camera.resolution = 'big'), 'cameraResolution'],
      [(f) => (f.camera.fps = '30fps'), 'cameraFps'],
    ];
    for (const [spoil, field] of cases) {
      const f = formFromScanners(scanners());
      spoil(f);
      expect(scannersFromForm(f)).toEqual({ ok: false, field });
    }
    // out-of-range whole numbers go to the core, which answers with its message
    const f = formFromScanners(scanners());
    f.wedge.minLength = '1';
    f.dedupeWindowMs = '999999';
    expect(scannersFromForm(f).ok).toBe(true);
  });
});
