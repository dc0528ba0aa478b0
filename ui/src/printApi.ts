// Types and calls of the receipt printer (docs/ui-contract.md, "Printing"): the print queue, the
// previews, a payment's receipt, the X / Z / test / refund slips, the drawer and the `[printer]`
// settings. Every slip is made by the core; a preview is read back from the bytes the printer
// would get, so the window shows exactly what will print. The UI computes no money.

import { call, type Approval } from './api';

/** What a job prints. `drawer` only kicks the cash drawer. */
export type SlipKind = 'receipt' | 'reprint' | 'refund' | 'x' | 'z' | 'test' | 'drawer';

export type JobState = 'pending' | 'printing' | 'printed' | 'failed' | 'dismissed';

/** A job of the queue, as the core lists it (open jobs only: waiting, printing or failed). */
export interface PrintJobView {
  id: number;
  kind: SlipKind;
  kindText: string;
  /** the payment (receipt, reprint), refund or shift (z) it prints; null for x, test, drawer */
  target: string | null;
  state: JobState;
  stateText: string;
  /** the failure's code (`paper_out`, `unreachable`, …) */
  error: string | null;
  /** the failure in the reader's language, with what to do */
  errorText: string | null;
  attempts: number;
  timeText: string;
}

/** One printed line or block, as read back from the bytes. */
export type Printed =
  | { kind: 'text'; text: string; align: 'left' | 'center' | 'right'; bold: boolean; width: number; height: number }
  | { kind: 'qr'; data: string }
  | { kind: 'cut' }
  | { kind: 'drawer'; pin: number; on_ms: number; off_ms: number };

/** A slip as the printer would print it now. */
export interface SlipPreview {
  /** characters a line (32 on 58 mm paper, 48 on 80 mm) */
  columns: number;
  paperMm: number;
  printed: Printed[];
  /** commands the reader does not know, as hex (none for slips the core makes) */
  unknown: string[];
  /** each QR block of `printed`, in order, drawn as SVG by the core */
  qrSvgs: string[];
  /** how many bytes go to the printer */
  bytes: number;
}

/** The cash drawer behind the printer (`[printer.drawer]`). */
export interface DrawerConfig {
  pin: number;
  on_ms: number;
  off_ms: number;
  on_refund: boolean;
}

/** `[printer]` as the config file holds it (its keys are the file's). */
export interface PrinterConfig {
  address: string;
  baud: number;
  paper_mm: number;
  auto_print: boolean;
  status: boolean;
  timeout_ms: number;
  header?: string;
  footer?: string;
  drawer?: DrawerConfig | null;
}

export interface PrinterSettingsView {
  /** null: no printer set up */
  printer: PrinterConfig | null;
  /** serial ports on this machine */
  ports: { name: string; description: string }[];
  /** USB printer devices (`/dev/usb/lp*`) */
  usb: string[];
}

/** The printer's state in words (paper, cover, online). */
export interface PrinterCheck {
  ready: boolean;
  text: string;
}

export const printApi = {
  jobs: () => call<PrintJobView[]>('print_jobs'),
  /** `target`: the payment (receipt, reprint), refund (refund) or shift id (z). */
  preview: (kind: SlipKind, target: string | null = null) => call<SlipPreview>('print_preview', { kind, target }),
  /** X, Z, refund and test slips; the job's id. */
  printSlip: (kind: 'x' | 'z' | 'refund' | 'test', target: string | null = null) =>
    call<number | null>('print_slip', { kind, target }),
  /** A paid payment's receipt: the receipt, or a copy marked as such (audited) once one exists. */
  printReceipt: (paymentId: string) => call<number | null>('print_receipt', { paymentId }),
  retry: (id: number) => call<boolean>('print_retry', { id }),
  dismiss: (id: number) => call<boolean>('print_dismiss', { id }),
  /** A protected action (approval `open_drawer`), written to the audit log. */
  openDrawer: (approval: Approval) => call<number | null>('open_drawer', { approval }),
  settings: () => call<PrinterSettingsView>('printer_settings'),
  /** A protected action (approval `settings`); null removes the printer. */
  saveSettings: (approval: Approval, printer: PrinterConfig | null) =>
    call<PrinterSettingsView>('save_printer_settings', { approval, printer }),
  check: () => call<PrinterCheck>('printer_check'),
};
