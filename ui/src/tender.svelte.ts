// The tender bar's choice: the channel and, per channel, the QR method, remembered for the session
// (tender.ts). A charge may select its preferred channel for a while; the clerk's own choice comes
// back when it ends.

import type { Channel, TenderMethod } from './api';
import { hasMethodPicker, loadTender, nextChannel, pickChannel, pickMethod, saveTender, sessionStore, showsTenderBar } from './tender';

export interface TenderHost {
  channels(): Channel[];
  defaultChannel(): string;
  /** a check, a payment, the scan overlay or the settings are under way */
  locked(): boolean;
  /** the clerk changed the tender: what was said about the other one's attempt goes */
  changed(): void;
}

export class TenderSelection {
  channelId = $state('');
  /** the method picked per channel (code), for the session */
  methodCodes = $state<Record<string, string>>({});
  /** the charge selected the channel: the clerk's choice comes back when it ends */
  private byCharge = false;

  channel: Channel | null = $derived.by(() => {
    const channels = this.host.channels();
    return channels.find((c) => c.id === this.channelId) ?? channels[0] ?? null;
  });
  /** the tender a QR payment on the selected channel uses; null when the channel has no choice */
  method: TenderMethod | null = $derived(pickMethod(this.channel, this.methodCodes[this.channel?.id ?? '']));
  /** the method picker is shown (the selected channel does QR and offers methods) */
  methodPicker: boolean = $derived(hasMethodPicker(this.channel));
  /** the tender bar is shown (more than one channel, or a method to pick) */
  tenderBar: boolean = $derived.by(() => showsTenderBar(this.host.channels(), this.channel));

  constructor(private readonly host: TenderHost) {
    const saved = loadTender(sessionStore());
    this.channelId = saved.channel;
    this.methodCodes = saved.methods;
  }

  /** Keeps the clerk's channel (also across a reload) while the core still offers it. */
  takeChannels(channels: readonly Channel[], defaultChannel: string): void {
    this.channelId = pickChannel(channels, this.channelId, defaultChannel);
  }

  setChannel = (id: string): void => {
    if (this.host.locked() || id === this.channelId) return;
    if (!this.host.channels().some((c) => c.id === id)) return;
    this.channelId = id;
    this.byCharge = false; // the clerk chose
    this.host.changed();
    this.remember();
  };

  /** F3: the next channel, wrapping round. */
  cycleChannel = (): void => {
    const channels = this.host.channels();
    if (channels.length < 2 || !this.channel) return;
    this.setChannel(nextChannel(channels, this.channel.id));
  };

  /** F4: the selected channel's next QR method (支付宝 → 微信 → 银联 …), wrapping round. */
  cycleMethod = (): void => {
    const methods = this.channel?.methods ?? [];
    if (methods.length < 2 || this.host.locked()) return;
    const at = methods.findIndex((m) => m.code === this.method?.code);
    this.selectMethod(methods[(at + 1) % methods.length].code);
  };

  selectMethod = (code: string): void => {
    const ch = this.channel;
    if (this.host.locked() || !ch || !ch.methods.some((m) => m.code === code)) return;
    if (this.method?.code === code) return;
    this.methodCodes = { ...this.methodCodes, [ch.id]: code };
    this.host.changed();
    this.remember();
  };

  /** The QR tenders of a channel (to name a payment's `wallet`). */
  methodsOf = (channelId: string): TenderMethod[] => {
    return this.host.channels().find((c) => c.id === channelId)?.methods ?? [];
  };

  /** A charge's preferred channel, selected for it: not remembered for the session (the
   * preference is the charge's, not the clerk's). Says whether the channel changed. */
  preferForCharge(id: string | null): boolean {
    if (!id || id === this.channelId) return false;
    this.channelId = id;
    this.byCharge = true;
    return true;
  }

  /** The charge that selected the channel is gone: the clerk's own choice comes back. */
  backFromCharge(): void {
    if (!this.byCharge) return;
    this.byCharge = false;
    this.channelId = pickChannel(this.host.channels(), loadTender(sessionStore()).channel, this.host.defaultChannel());
  }

  private remember(): void {
    saveTender(sessionStore(), { channel: this.channelId, methods: { ...this.methodCodes } });
  }
}
