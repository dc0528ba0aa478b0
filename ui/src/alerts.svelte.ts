// Late-payment alerts (`payment-alert` events and the bootstrap's): the banner shows each until the
// clerk acknowledges it, which the core records.

import { api, type PaymentAlert } from './api';
import { playSound } from './sounds';

export interface AlertsHost {
  /** an alert arrived: today's list has a payment that changed */
  arrived(): void;
  /** the core did not take the acknowledgement */
  ackFailed(e: unknown): void;
}

export class Alerts {
  list = $state<PaymentAlert[]>([]);

  constructor(private readonly host: AlertsHost) {}

  /** The bootstrap's alerts: those not on the banner yet join it. */
  takeBoot(alerts: readonly PaymentAlert[]): void {
    for (const alert of alerts) {
      if (!this.list.some((x) => x.id === alert.id)) this.list = [...this.list, alert];
    }
  }

  add = (a: PaymentAlert): void => {
    this.list = [...this.list.filter((x) => !(x.id === a.id && x.message === a.message)), a];
    playSound('failure');
    this.host.arrived();
  };

  /** Dismissing is acknowledging: the core records it and stops showing the alert. */
  dismiss = (index: number): void => {
    const alert = this.list[index];
    this.list = this.list.filter((_, i) => i !== index);
    if (alert) {
      api.ackAlert(alert.id).catch((e) => this.host.ackFailed(e));
    }
  };
}
