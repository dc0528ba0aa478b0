// The scanner settings screen (F9): the settings, serial ports and cameras read from the core, the
// form checked for whole numbers (scanners.ts), and saving with a manager's approval; the core
// checks the ranges and saves.

import { api, type ScannerSettingsView, type ScannerStates, type Scanners, type WithApproval } from './api';
import type { MessageKey } from './i18n';
import { FIELD_LABELS, formFromScanners, scannersFromForm, type NumberField, type ScannerForm } from './scanners';

export interface SettingsSession {
  /** null until the settings are read */
  form: ScannerForm | null;
  ports: ScannerSettingsView['ports'];
  cameras: ScannerSettingsView['cameras'];
  busy: null | 'load' | 'refresh' | 'save';
  /** the core's message (save refused, read failed) or the UI's own (not a whole number) */
  error: string | null;
  /** the field that is not a whole number */
  invalid: NumberField | null;
}

export interface ScannerSettingsHost {
  t(key: MessageKey, vars?: Record<string, string | number>): string;
  errorText(e: unknown): string;
  withApproval: WithApproval;
  /** nothing else is under way or open */
  canOpen(): boolean;
  /** `[scanners]` as the bootstrap sent it: still editable when the core cannot be read */
  scanners(): Scanners | null;
  /** settings read or saved */
  took(v: ScannerSettingsView): void;
  /** the scanners' state read again */
  tookState(st: ScannerStates): void;
  closed(): void;
}

export class ScannerSettings {
  /** the screen, when open */
  session = $state<SettingsSession | null>(null);

  constructor(private readonly host: ScannerSettingsHost) {}

  /** Opens the settings screen and reads the settings, ports and cameras from the core. */
  open = async (): Promise<void> => {
    if (!this.host.canOpen()) return;
    this.session = { form: null, ports: [], cameras: [], busy: 'load', error: null, invalid: null };
    // read back: the state holds a (reactive) proxy of the object assigned
    const session = this.session;
    const fallback = this.host.scanners();
    try {
      const v = await api.scannerSettings();
      if (this.session !== session) return;
      this.host.took(v);
      session.ports = v.ports;
      session.cameras = v.cameras;
      session.form = formFromScanners(v.settings, v.ports, v.cameras);
    } catch (e) {
      if (this.session !== session) return;
      session.error = this.host.errorText(e);
      // still editable with the settings bootstrap sent (no port or camera list)
      if (fallback) session.form = formFromScanners(fallback);
    } finally {
      if (this.session === session) session.busy = null;
    }
  };

  /** Looks for serial ports and cameras again; the form keeps what was typed. */
  refresh = async (): Promise<void> => {
    const session = this.session;
    if (!session || session.busy) return;
    session.busy = 'refresh';
    try {
      const v = await api.scannerSettings();
      if (this.session !== session) return;
      this.host.tookState({ serial: v.serial, camera: v.camera });
      session.ports = v.ports;
      session.cameras = v.cameras;
      session.form ??= formFromScanners(v.settings, v.ports, v.cameras);
      session.error = null;
    } catch (e) {
      if (this.session === session) session.error = this.host.errorText(e);
    } finally {
      if (this.session === session) session.busy = null;
    }
  };

  /** Checks the numbers are whole, asks for a manager's approval and sends the settings; the core
   * checks the approval and the ranges and saves. */
  save = async (): Promise<void> => {
    const session = this.session;
    if (!session?.form || session.busy) return;
    const r = scannersFromForm(session.form);
    if (!r.ok) {
      session.invalid = r.field;
      session.error = this.host.t('settingsNotInteger', { field: this.host.t(FIELD_LABELS[r.field]) });
      return;
    }
    session.busy = 'save';
    session.error = null;
    session.invalid = null;
    try {
      const v = await this.host.withApproval('settings', (approval) => api.saveScannerSettings(approval, r.settings));
      if (!v) return; // the manager's prompt was cancelled: the form stays as typed
      this.host.took(v);
      if (this.session === session) this.session = null;
    } catch (e) {
      // nothing was changed: keep the form as typed
      if (this.session === session) session.error = this.host.errorText(e);
    } finally {
      if (this.session === session) session.busy = null;
    }
  };

  close = (): void => {
    if (!this.session || this.session.busy === 'save') return;
    this.session = null;
    this.host.closed();
  };
}
