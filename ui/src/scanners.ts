// The scanners as the UI sees them (pure, no DOM): which scan events are the UI's to handle, when a
// read beeps, the status lines of the serial scanner and the camera, and the settings form (strings
// as typed, checked to be whole numbers and turned back into the core's `Scanners`). The core owns
// the scanners and the ranges of every setting; none of these numbers is money.

import type {
  CameraState,
  Parity,
  ScanEvent,
  ScanSource,
  ScannerSettingsView,
  ScannerStates,
  Scanners,
  SerialSettings,
  SerialState,
  Terminator,
} from './api';
import type { MessageKey } from './i18n';
import type { SoundName } from './sounds';
import type { WedgeConfig } from './wedgeCapture';

type T = (key: MessageKey, vars?: Record<string, string | number>) => string;

// ---------------------------------------------------------------- scan events

/** The UI submits these itself and gets the outcome as the command's answer. */
export function isOwnSource(source: ScanSource): boolean {
  return source === 'wedge' || source === 'manual';
}

/**
 * The beep for a code the core read (serial scanner, camera) that a payment took or refused; the
 * camera's `beep` setting can turn it off. Codes of the UI's own (the wedge scanner beeps by
 * itself, a typed code needs none) and unused reads are silent.
 */
export function scanSound(ev: ScanEvent, settings: Scanners | null): SoundName | null {
  const used = ev.outcome.kind === 'charging' || ev.outcome.kind === 'rejected';
  if (!used) return null;
  if (ev.source === 'serial') return 'read';
  if (ev.source === 'camera') return settings?.camera.beep === false ? null : 'read';
  return null;
}

/** `[scanners.wedge]` as the capture takes it. */
export function wedgeConfig(s: Scanners): WedgeConfig {
  return { enabled: s.wedge.enabled, minLength: s.wedge.min_length, maxGapMs: s.wedge.max_gap_ms };
}

// ---------------------------------------------------------------- status

/** ok: green; idle: grey (on standby); pending: amber (connecting, reconnecting); bad: red. */
export type StatusLevel = 'ok' | 'idle' | 'pending' | 'bad';

export interface StatusLine {
  kind: 'serial' | 'camera';
  level: StatusLevel;
  text: string;
}

export function serialLine(t: T, s: SerialState): StatusLine {
  switch (s.state) {
    case 'connected':
      return { kind: 'serial', level: 'ok', text: t('serialConnected', { port: s.port }) };
    case 'connecting':
      return { kind: 'serial', level: 'pending', text: t('serialConnecting', { port: s.port }) };
    case 'disconnected':
      return { kind: 'serial', level: 'pending', text: t('serialReconnecting', { port: s.port, reason: s.reason }) };
    default:
      // enabled but not (yet) started
      return { kind: 'serial', level: 'pending', text: t('serialOff') };
  }
}

/** `armed`: a scan is waiting, so the camera should be on (off then means it is about to start). */
export function cameraLine(t: T, s: CameraState, armed: boolean): StatusLine {
  switch (s.state) {
    case 'running':
      return { kind: 'camera', level: 'ok', text: t('cameraRunning', { source: s.source }) };
    case 'starting':
      return { kind: 'camera', level: 'pending', text: t('cameraStarting') };
    case 'failed':
      return { kind: 'camera', level: 'bad', text: t('cameraFailed', { reason: s.reason }) };
    default:
      return armed
        ? { kind: 'camera', level: 'pending', text: t('cameraStarting') }
        : { kind: 'camera', level: 'idle', text: t('cameraIdle') };
  }
}

const SEVERITY: Record<StatusLevel, number> = { idle: 0, ok: 1, pending: 2, bad: 3 };

/** The header pill: null when neither the serial scanner nor the camera is enabled. */
export function scannerStatus(
  t: T,
  settings: Scanners | null,
  states: ScannerStates | null,
  armed: boolean,
): { level: StatusLevel; lines: StatusLine[] } | null {
  if (!settings) return null;
  const lines: StatusLine[] = [];
  if (settings.serial.enabled) lines.push(serialLine(t, states?.serial ?? { state: 'off' }));
  if (settings.camera.enabled) lines.push(cameraLine(t, states?.camera ?? { state: 'off' }, armed));
  if (lines.length === 0) return null;
  const level = lines.reduce<StatusLevel>((worst, l) => (SEVERITY[l.level] > SEVERITY[worst] ? l.level : worst), 'idle');
  return { level, lines };
}

// ---------------------------------------------------------------- settings form

/** The select value that shows a free-text field instead. */
export const CUSTOM = '__custom__';

export const BAUD_RATES = ['9600', '19200', '38400', '57600', '115200'] as const;
export const RESOLUTIONS = ['640x480', '1280x720', '1920x1080'] as const;
export const DATA_BITS = ['5', '6', '7', '8'] as const;
export const STOP_BITS = ['1', '2'] as const;
export const PARITIES: readonly Parity[] = ['none', 'odd', 'even'];
export const TERMINATORS: readonly Terminator[] = ['cr', 'lf', 'crlf'];

/** The settings as the form holds them: numbers as the text typed. */
export interface ScannerForm {
  dedupeWindowMs: string;
  serial: {
    enabled: boolean;
    /** '' (none chosen), a listed port's name, or CUSTOM (then `portCustom`) */
    portChoice: string;
    portCustom: string;
    /** one of BAUD_RATES or CUSTOM (then `baudCustom`) */
    baudChoice: string;
    baudCustom: string;
    dataBits: (typeof DATA_BITS)[number];
    parity: Parity;
    stopBits: (typeof STOP_BITS)[number];
    terminator: Terminator;
    staleAfterMs: string;
  };
  wedge: { enabled: boolean; minLength: string; maxGapMs: string };
  camera: {
    enabled: boolean;
    /** '' (the first camera), a listed camera's device, or CUSTOM (then `deviceCustom`) */
    deviceChoice: string;
    deviceCustom: string;
    /** "1280x720" */
    resolution: string;
    fps: string;
    beep: boolean;
  };
}

/** The form's fields that hold a number, with their label (for the error message). */
export type NumberField =
  | 'dedupeWindowMs'
  | 'serialBaud'
  | 'serialStaleAfterMs'
  | 'wedgeMinLength'
  | 'wedgeMaxGapMs'
  | 'cameraResolution'
  | 'cameraFps';

export const FIELD_LABELS: Record<NumberField, MessageKey> = {
  dedupeWindowMs: 'settingsDedupeWindow',
  serialBaud: 'settingsBaud',
  serialStaleAfterMs: 'settingsStale',
  wedgeMinLength: 'settingsMinLength',
  wedgeMaxGapMs: 'settingsMaxGap',
  cameraResolution: 'settingsResolution',
  cameraFps: 'settingsFps',
};

/**
 * A whole number typed in a settings field (digits only, surrounding spaces allowed, at most nine
 * digits so it fits every setting's type); null otherwise. Not for money: settings are counts,
 * milliseconds and baud rates.
 */
export function parseCount(text: string): number | null {
  const digits = text.trim();
  if (!/^[0-9]{1,9}$/.test(digits)) return null;
  let n = 0;
  for (const ch of digits) n = n * 10 + (ch.charCodeAt(0) - 48);
  return n;
}

function listed<T>(value: string, items: readonly T[], key: (item: T) => string): boolean {
  return items.some((i) => key(i) === value);
}

/** The form for settings the core sent (`ports` / `cameras` decide what the selects can show). */
export function formFromScanners(
  s: Scanners,
  ports: ScannerSettingsView['ports'] = [],
  cameras: ScannerSettingsView['cameras'] = [],
): ScannerForm {
  const port = s.serial.port;
  const portListed = port === '' || listed(port, ports, (p) => p.name);
  const baud = String(s.serial.baud);
  const baudListed = (BAUD_RATES as readonly string[]).includes(baud);
  const device = s.camera.device;
  const deviceListed = device === '' || listed(device, cameras, (c) => c.device);
  return {
    dedupeWindowMs: String(s.dedupe_window_ms),
    serial: {
      enabled: s.serial.enabled,
      portChoice: portListed ? port : CUSTOM,
      portCustom: portListed ? '' : port,
      baudChoice: baudListed ? baud : CUSTOM,
      baudCustom: baudListed ? '' : baud,
      dataBits: String(s.serial.data_bits) as ScannerForm['serial']['dataBits'],
      parity: s.serial.parity,
      stopBits: String(s.serial.stop_bits) as ScannerForm['serial']['stopBits'],
      terminator: s.serial.terminator,
      staleAfterMs: String(s.serial.stale_after_ms),
    },
    wedge: {
      enabled: s.wedge.enabled,
      minLength: String(s.wedge.min_length),
      maxGapMs: String(s.wedge.max_gap_ms),
    },
    camera: {
      enabled: s.camera.enabled,
      deviceChoice: deviceListed ? device : CUSTOM,
      deviceCustom: deviceListed ? '' : device,
      resolution: `${s.camera.width}x${s.camera.height}`,
      fps: String(s.camera.fps),
      beep: s.camera.beep,
    },
  };
}

/** The resolutions to offer: the usual ones, and the configured one if it is another. */
export function resolutionOptions(current: string): string[] {
  const all: string[] = [...RESOLUTIONS];
  if (current !== '' && !all.includes(current)) all.push(current);
  return all;
}

/** "1280x720" → "1280×720" */
export function resolutionLabel(r: string): string {
  return r.replace('x', '×');
}

export type FormResult = { ok: true; settings: Scanners } | { ok: false; field: NumberField };

class NotACount {
  constructor(readonly field: NumberField) {}
}

const DATA_BITS_VALUE: Record<ScannerForm['serial']['dataBits'], SerialSettings['data_bits']> = {
  '5': 5,
  '6': 6,
  '7': 7,
  '8': 8,
};
const STOP_BITS_VALUE: Record<ScannerForm['serial']['stopBits'], SerialSettings['stop_bits']> = { '1': 1, '2': 2 };

/**
 * The `Scanners` to send to `save_scanner_settings`, or the first field that is not a whole number.
 * Only whole numbers are checked here; the core checks the ranges and answers with its message.
 */
export function scannersFromForm(f: ScannerForm): FormResult {
  const num = (text: string, field: NumberField): number => {
    const n = parseCount(text);
    if (n === null) throw new NotACount(field);
    return n;
  };
  try {
    const dedupe = num(f.dedupeWindowMs, 'dedupeWindowMs');
    const baud = num(f.serial.baudChoice === CUSTOM ? f.serial.baudCustom : f.serial.baudChoice, 'serialBaud');
    const stale = num(f.serial.staleAfterMs, 'serialStaleAfterMs');
    const minLength = num(f.wedge.minLength, 'wedgeMinLength');
    const maxGap = num(f.wedge.maxGapMs, 'wedgeMaxGapMs');
    const m = /^\s*([0-9]+)\s*[x×]\s*([0-9]+)\s*$/.exec(f.camera.resolution);
    if (!m) throw new NotACount('cameraResolution');
    const width = num(m[1], 'cameraResolution');
    const height = num(m[2], 'cameraResolution');
    const fps = num(f.camera.fps, 'cameraFps');
    const settings: Scanners = {
      dedupe_window_ms: dedupe,
      serial: {
        enabled: f.serial.enabled,
        port: (f.serial.portChoice === CUSTOM ? f.serial.portCustom : f.serial.portChoice).trim(),
        baud,
        data_bits: DATA_BITS_VALUE[f.serial.dataBits],
        parity: f.serial.parity,
        stop_bits: STOP_BITS_VALUE[f.serial.stopBits],
        terminator: f.serial.terminator,
        stale_after_ms: stale,
      },
      wedge: { enabled: f.wedge.enabled, min_length: minLength, max_gap_ms: maxGap },
      camera: {
        enabled: f.camera.enabled,
        device: (f.camera.deviceChoice === CUSTOM ? f.camera.deviceCustom : f.camera.deviceChoice).trim(),
        width,
        height,
        fps,
        beep: f.camera.beep,
      },
    };
    return { ok: true, settings };
  } catch (e) {
    if (e instanceof NotACount) return { ok: false, field: e.field };
    throw e;
  }
}
