// The printer settings form (the manager area's Printer tab) and its way to and from `[printer]`.
// The form holds what the person typed; only whole numbers are checked here, the core checks the
// rest (address, ranges, drawer timing) and says what is wrong in the person's language.

import type { PrinterConfig } from './printApi';
import { parseCount } from './scanners';

/** How the printer is plugged in. `none`: no printer at this till. */
export type Connection = 'none' | 'tcp' | 'usb' | 'serial';
export const CONNECTIONS: readonly Connection[] = ['none', 'tcp', 'usb', 'serial'];

export const PRINTER_BAUDS: readonly number[] = [9600, 19200, 38400, 115200, 2400, 4800, 57600, 230400];
/** the raw port of network receipt printers */
export const RAW_PORT = 9100;

export interface PrinterForm {
  connection: Connection;
  /** `192.168.1.80` or `192.168.1.80:9100` */
  host: string;
  /** a `/dev/usb/lp*` device */
  device: string;
  /** a serial port (`/dev/ttyUSB0`) */
  port: string;
  baud: number;
  paperMm: 58 | 80;
  autoPrint: boolean;
  /** ask the printer for paper / cover / online before and after each slip */
  status: boolean;
  timeoutMs: string;
  header: string;
  footer: string;
  drawer: boolean;
  drawerPin: 2 | 5;
  drawerOnMs: string;
  drawerOffMs: string;
  drawerOnRefund: boolean;
}

/** Fields whose whole number the form checks. */
export type PrinterNumberField = 'timeoutMs' | 'drawerOnMs' | 'drawerOffMs';

const DEFAULTS: PrinterForm = {
  connection: 'none',
  host: '',
  device: '',
  port: '',
  baud: 9600,
  paperMm: 80,
  autoPrint: true,
  status: true,
  timeoutMs: '3000',
  header: '',
  footer: '',
  drawer: false,
  drawerPin: 2,
  drawerOnMs: '100',
  drawerOffMs: '500',
  drawerOnRefund: false,
};

/** The form for the saved settings (null: no printer yet; the form offers the usual choices). */
export function formFromPrinter(p: PrinterConfig | null, usb: readonly string[] = []): PrinterForm {
  const form: PrinterForm = { ...DEFAULTS, device: usb[0] ?? '' };
  if (!p) return form;
  const address = p.address.trim();
  if (address.startsWith('tcp://')) {
    form.connection = 'tcp';
    const host = address.slice('tcp://'.length);
    form.host = host.endsWith(`:${RAW_PORT}`) ? host.slice(0, -`:${RAW_PORT}`.length) : host;
  } else if (address.startsWith('serial:')) {
    form.connection = 'serial';
    form.port = address.slice('serial:'.length);
  } else {
    form.connection = 'usb';
    form.device = address;
  }
  form.baud = p.baud;
  form.paperMm = p.paper_mm === 58 ? 58 : 80;
  form.autoPrint = p.auto_print;
  form.status = p.status;
  form.timeoutMs = String(p.timeout_ms);
  form.header = p.header ?? '';
  form.footer = p.footer ?? '';
  if (p.drawer) {
    form.drawer = true;
    form.drawerPin = p.drawer.pin === 5 ? 5 : 2;
    form.drawerOnMs = String(p.drawer.on_ms);
    form.drawerOffMs = String(p.drawer.off_ms);
    form.drawerOnRefund = p.drawer.on_refund;
  }
  return form;
}

/** The address the core reads: `tcp://host:port` (port 9100 when none is typed), `serial:/dev/…`,
 * or the device file. */
export function addressOf(form: PrinterForm): string {
  switch (form.connection) {
    case 'tcp': {
      const host = form.host.trim().replace(/^tcp:\/\//, '');
      // `host:port`, or `[v6 address]:port`; without a port, the raw port
      const hasPort = /^[^:[\]]+:\d+$/.test(host) || /^\[[^\]]+\]:\d+$/.test(host);
      return hasPort ? `tcp://${host}` : `tcp://${host}:${RAW_PORT}`;
    }
    case 'serial':
      return `serial:${form.port.trim()}`;
    case 'usb':
      return form.device.trim();
    default:
      return '';
  }
}

export type PrinterFormResult =
  | { ok: true; printer: PrinterConfig | null }
  | { ok: false; field: PrinterNumberField | 'address' };

/** What the form saves: `[printer]`, or null to remove the printer. */
export function printerFromForm(form: PrinterForm): PrinterFormResult {
  if (form.connection === 'none') return { ok: true, printer: null };
  const address = addressOf(form);
  const empty = form.connection === 'tcp' ? form.host.trim() === '' : address.replace(/^serial:/, '') === '';
  if (empty) return { ok: false, field: 'address' };
  const timeout = parseCount(form.timeoutMs);
  if (timeout === null) return { ok: false, field: 'timeoutMs' };
  const printer: PrinterConfig = {
    address,
    baud: form.baud,
    paper_mm: form.paperMm,
    auto_print: form.autoPrint,
    status: form.status,
    timeout_ms: timeout,
    header: form.header.trim(),
    footer: form.footer.trim(),
    drawer: null,
  };
  if (form.drawer) {
    const on = parseCount(form.drawerOnMs);
    if (on === null) return { ok: false, field: 'drawerOnMs' };
    const off = parseCount(form.drawerOffMs);
    if (off === null) return { ok: false, field: 'drawerOffMs' };
    printer.drawer = { pin: form.drawerPin, on_ms: on, off_ms: off, on_refund: form.drawerOnRefund };
  }
  return { ok: true, printer };
}

/** Whether the form says something other than the saved settings (the test print and the check
 * use the saved ones, so they wait for a save). */
export function formChanged(form: PrinterForm, saved: PrinterConfig | null, usb: readonly string[] = []): boolean {
  return JSON.stringify(form) !== JSON.stringify(formFromPrinter(saved, usb));
}
