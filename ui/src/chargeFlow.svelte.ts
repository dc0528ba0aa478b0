// The charge the clerk window follows (`Bootstrap.charge`, then `charge-update`; chargeFlow.ts
// decides which): the keypad is locked to an open charge's amount, its preferred channel is
// selected once, and "Dismiss" gives it up. A charge may take several attempts; a final one stays
// until its payment's result is dismissed.

import { api, type Channel } from './api';
import type { ChargeView, Tender } from './charges';
import { canDismiss, chargeFromBoot, nextCharge, openCharge, preferredChannel } from './chargeFlow';

export interface ChargeHost {
  /** the kiosk screens follow the charge themselves */
  kiosk(): boolean;
  /** a payment (its result included) is on screen */
  paymentShown(): boolean;
  /** the tender cannot change now */
  tenderLocked(): boolean;
  channels(): Channel[];
  /** selects the charge's preferred channel (null: the clerk's choice stays) */
  preferChannel(id: string | null): void;
  /** the charge that selected the channel is gone: the clerk's choice comes back */
  restoreChannel(): void;
  /** what to say under the amount (null: nothing) */
  say(text: string | null): void;
  errorText(e: unknown): string;
}

export class ChargeFollow {
  /** the charge followed; a final one stays until its payment's result is dismissed */
  charge = $state.raw<ChargeView | null>(null);
  /** `cancel_charge` is on its way */
  busy = $state(false);
  /** the charge to collect now: the amount is locked to it and the tender actions pass it */
  open: ChargeView | null = $derived(openCharge(this.charge));
  /** the charge's preferred tender (Enter starts it), or null */
  preferredTender: Tender | null = $derived(this.open?.tender ?? null);
  /** the charge whose preferred channel was selected (once per charge) */
  private preselectedFor: string | null = null;

  constructor(private readonly host: ChargeHost) {}

  takeBoot(booted: ChargeView | null | undefined): void {
    this.charge = chargeFromBoot(this.charge, booted);
  }

  /** A `charge-update` or `cancel_charge`'s answer. */
  apply = (c: ChargeView): void => {
    const next = nextCharge(this.charge, c);
    if (next === this.charge) return;
    this.charge = next;
    this.settle();
  };

  /**
   * After the charge changed or a payment result was dismissed: a final charge goes once no payment
   * is on screen (its result shows as for any payment); a new charge selects its preferred channel
   * once the tender is free to change.
   */
  settle(): void {
    // the kiosk screens follow the charge themselves (a final one stays until the next)
    if (this.host.kiosk()) return;
    if (this.charge?.final && !this.host.paymentShown()) this.charge = null;
    const c = this.open;
    if (!c) {
      if (!this.host.tenderLocked()) this.host.restoreChannel();
      if (!this.charge) this.preselectedFor = null;
      return;
    }
    if (this.preselectedFor === c.id || this.host.tenderLocked()) return;
    this.preselectedFor = c.id;
    this.host.preferChannel(preferredChannel(this.host.channels(), c));
  }

  /** "Dismiss" on the charge banner (after its confirm step): the core cancels the charge and
   * its attempt, if any. */
  cancel = async (): Promise<void> => {
    const c = this.open;
    if (!c || !canDismiss(c) || this.busy) return;
    this.busy = true;
    this.host.say(null);
    try {
      this.apply(await api.cancelCharge(c.id));
    } catch (e) {
      this.host.say(this.host.errorText(e));
    } finally {
      this.busy = false;
    }
  };
}
