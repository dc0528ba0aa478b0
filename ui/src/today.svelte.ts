// Today's payments beside the keypad (`today`): read again after every payment that ends, and
// every half minute; reads asked for while one is on its way become one more read after it.

import { api, type Today } from './api';

export interface TodayHost {
  /** nobody signed in (the core would refuse), or the kiosk (it shows no list) */
  skip(): boolean;
  /** a fresh list: a final payment on screen may take its re-localized row */
  read(today: Today): void;
}

export class TodayList {
  today = $state<Today | null>(null);
  /** the last read failed */
  error = $state(false);
  private inFlight = false;
  private again = false;

  constructor(private readonly host: TodayHost) {}

  refresh = async (): Promise<void> => {
    if (this.host.skip()) return;
    if (this.inFlight) {
      this.again = true;
      return;
    }
    this.inFlight = true;
    try {
      do {
        this.again = false;
        try {
          const t = await api.today();
          this.today = t;
          this.error = false;
          this.host.read(t);
        } catch {
          this.error = true;
        }
      } while (this.again);
    } finally {
      this.inFlight = false;
    }
  };
}
