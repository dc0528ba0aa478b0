// Which charge the screen follows (docs/ui-contract.md, "Charges"). Pure helpers shared by the
// clerk window (chargeFlow.svelte.ts) and the customer display (display.ts). Nothing here touches money:
// the charge's amount is the core's `amountText`, shown as it is.

import type { Channel } from './api';
import type { ChargeView, Tender } from './charges';

/**
 * The charge to keep when a `charge-update` (or `cancel_charge`'s answer) arrives. The core allows
 * one unfinished charge at a time, so the screen follows one:
 * - an update of the charge followed replaces it, except that a final charge never becomes
 *   unfinished again (events and command answers may arrive out of order);
 * - another charge is taken only when none is followed or the one followed is final;
 * - a final charge nobody followed is not taken up (there is nothing left to collect).
 */
export function nextCharge(current: ChargeView | null, incoming: ChargeView): ChargeView | null {
  if (current && current.id === incoming.id) {
    return current.final && !incoming.final ? current : incoming;
  }
  if (current && !current.final) return current;
  return incoming.final ? current : incoming;
}

/**
 * The charge after a bootstrap (start, language switch, leaving kiosk mode): the core's
 * `Bootstrap.charge` is what is unfinished now. A final charge still followed (its payment's result
 * is on screen) is kept until that result is dismissed.
 */
export function chargeFromBoot(current: ChargeView | null, booted: ChargeView | null | undefined): ChargeView | null {
  if (booted && !booted.final) return booted;
  if (booted && current?.id === booted.id) return booted;
  return current?.final ? current : null;
}

/** The charge to collect: the one followed while it is not final, else null. */
export function openCharge(charge: ChargeView | null): ChargeView | null {
  return charge && !charge.final ? charge : null;
}

/** Whether the clerk may give the charge up ("Dismiss"): not while it is being cancelled already. */
export function canDismiss(charge: ChargeView | null): boolean {
  return charge !== null && !charge.final && charge.state !== 'cancelling';
}

/** The charge's preferred channel when the core offers it, else null (the clerk's choice stays). */
export function preferredChannel(channels: readonly Channel[], charge: Pick<ChargeView, 'channel'> | null): string | null {
  const wanted = charge?.channel;
  return wanted && channels.some((c) => c.id === wanted) ? wanted : null;
}

/** The action Enter starts: the charge's preferred tender when the channel can do it, else the
 * scan (as without a charge; a channel without payment codes then says so). */
export function enterAction(
  channel: Pick<Channel, 'barcode' | 'qr'> | null,
  tender: Tender | null | undefined,
): 'scan' | 'qr' {
  if (tender === 'qr' && channel?.qr) return 'qr';
  return 'scan';
}
