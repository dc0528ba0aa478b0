// The clerk's tender choice: which channel takes the next payment and, for a QR payment, which
// tender (method) the channel offers. Pure helpers; the state lives in tender.svelte.ts. Nothing here
// touches money: the core decides what a channel and a method can do.

import type { Channel, TenderMethod } from './api';

/** What the clerk picked, remembered for the session: the channel and, per channel, the method. */
export interface TenderChoice {
  channel: string;
  methods: Record<string, string>;
}

/** The channel to select: `wanted` when offered, else the core's default, else the first one
 * ('' when there is no channel). */
export function pickChannel(channels: readonly Channel[], wanted: string | null | undefined, fallback: string): string {
  if (wanted && channels.some((c) => c.id === wanted)) return wanted;
  if (channels.some((c) => c.id === fallback)) return fallback;
  return channels[0]?.id ?? '';
}

/** The channel after `current` (F3), wrapping round; `current` itself when there is no other. */
export function nextChannel(channels: readonly Channel[], current: string): string {
  if (channels.length === 0) return current;
  const i = channels.findIndex((c) => c.id === current);
  return channels[(i + 1) % channels.length].id;
}

/** Whether the clerk picks a tender for a QR payment on this channel (it has methods and does QR). */
export function hasMethodPicker(channel: Channel | null): boolean {
  return channel !== null && channel.qr && (channel.methods?.length ?? 0) > 0;
}

/** The method a QR payment on `channel` will use: `wanted` when the channel offers it, else its
 * first method; null when the channel has no method choice (its page lets the customer choose). */
export function pickMethod(channel: Channel | null, wanted: string | null | undefined): TenderMethod | null {
  if (!channel || !hasMethodPicker(channel)) return null;
  return channel.methods.find((m) => m.code === wanted) ?? channel.methods[0];
}

/** The tender bar is worth its room only when there is something to choose. */
export function showsTenderBar(channels: readonly Channel[], selected: Channel | null): boolean {
  return channels.length > 1 || hasMethodPicker(selected);
}

/** Whether a QR payment on this channel opens in the customer window instead of a QR code. */
export function opensCustomerWindow(channel: Pick<Channel, 'display'> | null): boolean {
  return channel?.display === 'customer_window';
}

const STORAGE_KEY = 'paydesk.tender';

type Store = Pick<Storage, 'getItem' | 'setItem'>;

/** The choice remembered in `store` (sessionStorage: it survives a reload of the webview, not a
 * restart of paydesk); an empty choice when nothing (valid) is stored. */
export function loadTender(store: Store | null): TenderChoice {
  const empty: TenderChoice = { channel: '', methods: {} };
  if (!store) return empty;
  try {
    const raw = store.getItem(STORAGE_KEY);
    if (!raw) return empty;
    const v: unknown = JSON.parse(raw);
    if (typeof v !== 'object' || v === null) return empty;
    const o = v as { channel?: unknown; methods?: unknown };
    const methods: Record<string, string> = {};
    if (typeof o.methods === 'object' && o.methods !== null) {
      for (const [k, m] of Object.entries(o.methods)) if (typeof m === 'string') methods[k] = m;
    }
    return { channel: typeof o.channel === 'string' ? o.channel : '', methods };
  } catch {
    return empty;
  }
}

export function saveTender(store: Store | null, choice: TenderChoice): void {
  try {
    store?.setItem(STORAGE_KEY, JSON.stringify(choice));
  } catch {
    // storage full or blocked: the choice then lasts until the next reload
  }
}

/** The webview's sessionStorage, or null where there is none (tests, locked-down webviews). */
export function sessionStore(): Store | null {
  try {
    return typeof sessionStorage === 'undefined' ? null : sessionStorage;
  } catch {
    return null;
  }
}
