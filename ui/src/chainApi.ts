// Types and calls of the chain (docs/ui-contract.md, "Chain"): the upload's status line, and on
// a till with `[sync] chain_reports`, the Chain tab's figures of every till. Every figure and
// text arrives made by the core, which reads the chain's server; the UI computes no money.

import { call } from './api';
import type { DayPoint, ExportKind, ExportResult, Group, Money } from './reportsApi';

export type SyncPhase = 'starting' | 'synced' | 'uploading' | 'offline' | 'stopped';

/** The till's upload to the chain's server. */
export interface SyncView {
  tillId: string;
  server: string;
  chainReports: boolean;
  phase: SyncPhase;
  /** "已同步至 10:42", "离线 2 小时" */
  label: string;
  syncedTo: number | null;
  syncedToText: string | null;
  backlog: number;
  /** why it stopped or is offline, in the window's language */
  problem: string | null;
}

export type ChainGroupKey = 'byStore' | 'byTill' | 'byChannel' | 'byWallet';
export const CHAIN_GROUP_KEYS: readonly ChainGroupKey[] = ['byStore', 'byTill', 'byChannel', 'byWallet'];

export interface ChainTotals {
  count: number;
  gross: Money;
  refundCount: number;
  refunds: Money;
  net: Money;
  averageTicket: Money;
  byStore: Group[];
  byTill: Group[];
  byChannel: Group[];
  byWallet: Group[];
}

export interface ChainUnresolved {
  tillId: string;
  what: 'payment' | 'refund';
  id: string;
  paymentId: string;
  channelName: string;
  amount: Money;
  state: string;
  stateText: string;
  timeText: string;
}

export interface TillReach {
  tillId: string;
  store: string;
  terminal: string;
  /** "已同步至 12-04 10:42" */
  syncedText: string;
  /** "3 分钟前" */
  lastUploadText: string;
  /** no upload for over an hour */
  quiet: boolean;
}

export interface ChainView {
  from: string;
  to: string;
  totals: ChainTotals;
  daily: DayPoint[];
  unresolved: ChainUnresolved[];
  tills: TillReach[];
  readAtText: string;
}

export const chainApi = {
  syncStatus: () => call<SyncView | null>('sync_status'),
  report: (from: string, to: string) => call<ChainView>('chain_report', { from, to }),
  exportCsv: (kind: ExportKind, from: string, to: string, dir: string | null) =>
    call<ExportResult>('export_chain_csv', { kind, from, to, dir }),
};
