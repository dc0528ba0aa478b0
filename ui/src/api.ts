// Types and calls of the contract between the Rust core and the UI (docs/ui-contract.md).
// Money arrives as integer fen plus the core's `amountText`; the UI shows `amountText` only.

import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';

export type Lang = 'zh' | 'en';

export type PaymentState = 'created' | 'pending' | 'unknown' | 'paid' | 'failed' | 'closed' | 'reversed';

export type Phase = 'sending' | 'waiting' | 'checking' | 'cancelling' | 'not_confirmed' | 'done';

export type ScanSource = 'wedge' | 'manual' | 'serial' | 'camera';

/** How a QR payment reaches the customer: a QR code on this screen, or a page the core opens in
 * the separate customer-facing window. */
export type QrDisplay = 'qr' | 'customer_window';

/** A tender the clerk can pick for a QR payment on a channel (e.g. `WECHAT` 微信支付). */
export interface TenderMethod {
  code: string;
  name: string;
}

export interface Channel {
  id: string;
  name: string;
  barcode: boolean;
  qr: boolean;
  canCancel: boolean;
  /** Tenders for QR payments, in the core's order (the first is the default); empty when the
   * channel's own page lets the customer choose. */
  methods: TenderMethod[];
  display: QrDisplay;
}

export interface PaymentView {
  id: string;
  channel: string;
  flow: 'barcode' | 'qr';
  amountFen: number;
  amountText: string;
  state: PaymentState;
  phase: Phase;
  final: boolean;
  late: boolean;
  wallet: string | null;
  codeMasked: string | null;
  qrSvg: string | null;
  /** for `customer_window` payments: an internal form (JSON), never shown */
  qrPayload: string | null;
  display: QrDisplay;
  deadlineAtMs: number | null;
  message: string;
  failureCode: string | null;
  createdAtMs: number;
  timeText: string;
}

export interface Bootstrap {
  lang: Lang;
  terminal: { code: string; name: string };
  channels: Channel[];
  defaultChannel: string;
  ceilingText: string;
  demo: null | { sampleCodes: { code: string; label: string }[]; sandboxUrl: string };
  active: PaymentView | null;
  /** Late payments nobody has acknowledged yet; they come back after a restart until dismissed. */
  alerts: PaymentAlert[];
}

export interface CheckedAmount {
  amountFen: number;
  amountText: string;
}

export interface Today {
  payments: PaymentView[];
  /** Unfinished payments of any day, still being resolved by the core. */
  attention: PaymentView[];
  totals: { count: number; paidCount: number; paidText: string; refundedText: string; netText: string };
}

export interface PaymentAlert {
  id: string;
  message: string;
}

/** A rejected command as the core sends it: `message` is already localized. */
export interface CoreError {
  code: string;
  message: string;
}

/** Thrown when there is no core to talk to (no Tauri IPC, or a non-contract failure). */
export class CoreUnreachable extends Error {
  constructor(readonly reason: unknown) {
    super('cashier core unreachable');
  }
}

export function isCoreError(e: unknown): e is CoreError {
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof (e as CoreError).message === 'string' &&
    typeof (e as CoreError).code === 'string'
  );
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    if (isCoreError(e)) throw e;
    throw new CoreUnreachable(e);
  }
}

export const api = {
  bootstrap: () => call<Bootstrap>('bootstrap'),
  setLanguage: (lang: Lang) => call<Bootstrap>('set_language', { lang }),
  checkAmount: (amountText: string) => call<CheckedAmount>('check_amount', { amountText }),
  chargeBarcode: (channel: string, amountText: string, code: string, source: ScanSource) =>
    call<PaymentView>('charge_barcode', { channel, amountText, code, source }),
  /** `method`: one of the channel's `methods[].code`, or null (the core takes the first). */
  startQr: (channel: string, amountText: string, method: string | null) =>
    call<PaymentView>('start_qr', { channel, amountText, method }),
  cancelPayment: (id: string) => call<PaymentView>('cancel_payment', { id }),
  today: () => call<Today>('today'),
  ackAlert: (id: string) => call<null>('ack_alert', { id }),
};

export interface CoreEvents {
  onUpdate(view: PaymentView): void;
  onAlert(alert: PaymentAlert): void;
}

/** Subscribes to the core's events; throws CoreUnreachable when there is no Tauri IPC. */
export async function subscribe(h: CoreEvents): Promise<UnlistenFn> {
  try {
    const un1 = await listen<PaymentView>('payment-update', (e) => h.onUpdate(e.payload));
    let un2: UnlistenFn;
    try {
      un2 = await listen<PaymentAlert>('payment-alert', (e) => h.onAlert(e.payload));
    } catch (e) {
      un1();
      throw e;
    }
    return () => {
      un1();
      un2();
    };
  } catch (e) {
    throw new CoreUnreachable(e);
  }
}
