// Charges, kiosk mode and the customer display: the types of docs/ui-contract.md (issue 6).
// Money arrives as integer fen plus the core's text; the UI shows the text only.

import type { Lang, PaymentView } from './api';

export type ChargeState = 'open' | 'paying' | 'paid' | 'cancelling' | 'cancelled';

/** An amount this till was asked to collect: pushed by the terminal API or made at the kiosk. */
export interface ChargeView {
  id: string;
  externalOrderId: string | null;
  origin: 'api' | 'kiosk';
  amountFen: number;
  amountText: string;
  subject: string;
  tender: Tender | null;
  channel: string | null;
  state: ChargeState;
  stateText: string;
  final: boolean;
  /** the attempt under way, or the paid payment */
  paymentId: string | null;
  /** the last failed attempt's message (localized), for "try again" */
  lastFailure: string | null;
  /** the same for the customer (the kiosk): no channel codes */
  lastFailureCustomer?: string | null;
  createdAtMs: number;
}

/** `qr`: the customer scans our QR; `code`: the customer shows a wallet payment code. */
export type Tender = 'qr' | 'code';

export interface KioskProduct {
  id: string;
  name: string;
  priceFen: number;
  priceText: string;
}

export interface KioskInfo {
  welcome: string;
  logoDataUrl: string | null;
  idleResetSeconds: number;
  paidResetSeconds: number;
  tenders: Tender[];
  channel: string;
  method: string | null;
  products: KioskProduct[];
}

export interface BasketItem {
  id: string;
  qty: number;
}

export interface Quote {
  amountFen: number;
  amountText: string;
}

export interface DisplayBootstrap {
  lang: Lang;
  welcome: string;
  logoDataUrl: string | null;
  terminalName: string;
  active: PaymentView | null;
  charge: ChargeView | null;
}
