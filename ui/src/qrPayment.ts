// A QR payment started from the keypad: the core checks the typed amount (or takes the open
// charge's) and answers the payment with its QR, which the payment overlay shows.

import { api, type PaymentView } from './api';
import type { KeypadArm } from './keypadArm';

export interface QrStart {
  channel: string;
  /** one of the channel's methods, or null (the core takes the first) */
  method: string | null;
  /** the open charge: its amount is paid and nothing typed is sent */
  charge: string | null;
  typed: string;
}

/** Starts the QR payment; `sending` is told once the amount is checked and the payment is asked for. */
export async function startQrPayment(s: QrStart, keypadArm: KeypadArm, sending: () => void): Promise<PaymentView> {
  // the keypad armed this amount for a payment code: a QR sale takes it back first
  await keypadArm.release();
  if (s.charge) {
    sending();
    return api.startQr(s.channel, '', s.method, s.charge);
  }
  await api.checkAmount(s.typed);
  sending();
  return api.startQr(s.channel, s.typed, s.method);
}
