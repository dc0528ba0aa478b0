// The keypad's amount, as typed (amountEdit.ts: no numbers, the core checks it), the message under
// it, and the keypad arming the scan for it (keypadArm.ts): the next payment code pays the amount
// on screen. An open charge locks the keypad to the charge's amount.

import { api, type Channel, type Scanners } from './api';
import type { ChargeView } from './charges';
import { editAmount, type AmountKey } from './amountEdit';
import { KeypadArm, wishKey, type Want } from './keypadArm';
import type { ResultKind } from './payment';

export interface AmountEntryHost {
  /** the keypad takes no key: a command, the scan overlay, a payment or a cover is under way */
  locked(): boolean;
  /** the kiosk, the scan overlay, a payment or a command under way own the arming (or not ready) */
  handsOff(): boolean;
  /** something is open over the keypad (a cover, the settings, a charge's cancel under way) */
  blocked(): boolean;
  channel(): Channel | null;
  /** the open charge, which the keypad collects in place of a typed amount */
  charge(): ChargeView | null;
  scanners(): Scanners | null;
}

export class AmountEntry {
  amount = $state('');
  /** what went wrong with the last start (a refused amount, a lost core), under the amount */
  error = $state<string | null>(null);
  /** the keypad armed the scan: the next payment code pays the amount on screen */
  armed = $state(false);

  /** what the amount display shows: the charge's amount (the core's text), else what was typed */
  shown: string = $derived.by(() => {
    const c = this.host.charge();
    return c ? c.amountText : this.amount;
  });
  /** App.svelte tells `arm` whenever this changes */
  wantKey: string = $derived.by(() => {
    const w = this.want;
    return w === null ? '' : w === 'hands-off' ? 'hands-off' : wishKey(w);
  });
  /** how long the keypad waits for the amount to be still before arming: longer than the gaps
   * between a wedge scanner's keys, so what a wedge types is never armed */
  armDelayMs: number = $derived.by(() => Math.max(250, 3 * (this.host.scanners()?.wedge.max_gap_ms ?? 50)));

  readonly arm = new KeypadArm({
    arm: (w) => api.armScan(w.channel, w.amountText, w.charge),
    disarm: () => api.disarmScan(),
    want: () => this.want,
    onArmed: (armed) => (this.armed = armed),
  });

  constructor(private readonly host: AmountEntryHost) {}

  /** What the keypad would arm now (see keypadArm.ts). */
  get want(): Want {
    if (this.host.handsOff()) return 'hands-off';
    const ch = this.host.channel();
    if (this.host.blocked() || !ch?.barcode) return null;
    const charge = this.host.charge();
    if (charge) return charge.state === 'cancelling' ? null : { channel: ch.id, amountText: '', charge: charge.id };
    return this.amount === '' ? null : { channel: ch.id, amountText: this.amount, charge: null };
  }

  press = (key: AmountKey): void => {
    // a charge's amount is the core's: the keypad is locked to it
    if (this.host.locked() || this.host.charge()) return;
    this.amount = editAmount(this.amount, key);
    this.error = null;
  };

  /** A result screen was left. The amount is cleared after success and after "not confirmed" (so
   * the clerk does not charge the same sale again); after a failure it stays for another try. */
  afterPayment(kind: ResultKind): void {
    if (kind === 'success' || kind === 'not_confirmed') this.amount = '';
    this.error = null;
  }
}
