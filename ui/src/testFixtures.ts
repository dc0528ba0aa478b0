// Test-only fixtures shared by the unit tests: the core's default `[scanners]` settings.
import type { Scanners } from './api';

export function scannersFixture(p: Partial<Scanners> = {}): Scanners {
  return {
    dedupe_window_ms: 2000,
    serial: {
      enabled: false,
      port: '',
      baud: 9600,
      data_bits: 8,
      parity: 'none',
      stop_bits: 1,
      terminator: 'cr',
      stale_after_ms: 500,
    },
    wedge: { enabled: true, min_length: 8, max_gap_ms: 50 },
    camera: { enabled: false, device: '', width: 1280, height: 720, fps: 30, beep: true },
    ...p,
  };
}
