// The clerk's passing notice (a scan read where it goes nowhere, a command refused, …): one at a
// time, gone by itself after a while or when dismissed.

const NOTICE_MS = 6_000;

export class Notice {
  text = $state<string | null>(null);
  private timer: number | undefined;

  show = (text: string): void => {
    this.text = text;
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => (this.text = null), NOTICE_MS);
  };

  dismiss = (): void => {
    window.clearTimeout(this.timer);
    this.text = null;
  };
}
