// One payment's detail (`payment_detail`): the payment, its history and refunds, and what a
// manager can do: refund, record the outcome of an unresolved payment, resolve an unknown refund.
// Each action goes through the manager's PIN prompt; the core's answer is the new detail. Amounts
// are the core's texts; the refund amount goes to the core as typed.

import {
  api,
  type Approval,
  type ForcedOutcome,
  type PaymentDetail,
  type RefundOutcome,
  type WithApproval,
} from './api';
import type { MessageKey } from './i18n';

export interface DetailDeps {
  withApproval: WithApproval;
  t(key: MessageKey, vars?: Record<string, string | number>): string;
  errorText(e: unknown): string;
  /** an action changed the payment: the today list (and anything else showing it) reloads */
  onChanged(detail: PaymentDetail): void;
}

export type DetailBusy = null | 'load' | 'refund' | 'force' | 'resolve';

/** Quick picks for a refund's reason, in the UI language. */
export const REFUND_REASON_KEYS: readonly MessageKey[] = ['reasonReturn', 'reasonDuplicate', 'reasonWrongAmount'];

export class PaymentDetailState {
  detail = $state<PaymentDetail | null>(null);
  busy = $state<DetailBusy>('load');
  error = $state<string | null>(null);
  /** as typed; prefilled with what can still be refunded */
  refundAmount = $state('');
  refundReason = $state('');
  forceReason = $state('');
  /** the reason typed for each refund a manager resolves */
  resolveReasons = $state<Record<string, string>>({});
  /** opened by a scanned receipt for a manager: the refund amount takes the focus once loaded */
  focusRefund = $state(false);

  constructor(
    readonly id: string,
    private readonly deps: DetailDeps,
  ) {}

  async load(): Promise<void> {
    this.busy = 'load';
    this.error = null;
    try {
      this.take(await api.paymentDetail(this.id));
    } catch (e) {
      this.error = this.deps.errorText(e);
    } finally {
      this.busy = null;
    }
  }

  async refund(): Promise<void> {
    const d = this.detail;
    if (!d?.canRefund || this.busy) return;
    const reason = this.refundReason.trim();
    if (this.refundAmount.trim() === '') return this.fail('refundAmountRequired');
    if (reason === '') return this.fail('reasonRequired');
    const amountText = this.refundAmount.trim();
    // the amount as the core reads it ("5" → "5.00"); a bad one is refused by the refund itself
    const shown = await api.checkAmount(amountText).then((c) => c.amountText).catch(() => amountText);
    await this.act(
      'refund',
      'refund',
      (approval) => api.refund(approval, d.payment.id, amountText, reason),
      this.what(shown, d.payment.id),
    );
  }

  async force(outcome: ForcedOutcome): Promise<void> {
    const d = this.detail;
    if (!d?.canForce || this.busy) return;
    const reason = this.forceReason.trim();
    if (reason === '') return this.fail('reasonRequired');
    await this.act(
      'force',
      'force_outcome',
      (approval) => api.forceOutcome(approval, d.payment.id, outcome, reason),
      this.what(d.payment.amountText, d.payment.id),
    );
  }

  async resolve(refundId: string, outcome: RefundOutcome): Promise<void> {
    const r = this.detail?.refunds.find((x) => x.id === refundId);
    if (!r?.canResolve || this.busy) return;
    const reason = (this.resolveReasons[refundId] ?? '').trim();
    if (reason === '') return this.fail('reasonRequired');
    const d = this.detail;
    await this.act(
      'resolve',
      'resolve_refund',
      (approval) => api.resolveRefund(approval, refundId, outcome, reason),
      d ? this.what(r.amountText, d.payment.id) : undefined,
    );
  }

  /** What the manager's PIN approves: "¥12.34 · 订单 …3563" (the order's last four). */
  private what(amountText: string, orderId: string): string {
    return this.deps.t('approvalWhat', { amount: amountText, order: orderId.slice(-4) });
  }

  private fail(key: MessageKey): void {
    this.error = this.deps.t(key);
  }

  private async act(
    busy: Exclude<DetailBusy, null | 'load'>,
    action: string,
    call: (approval: Approval) => Promise<PaymentDetail>,
    what?: string,
  ): Promise<void> {
    this.busy = busy;
    this.error = null;
    try {
      const d = await this.deps.withApproval(action, call, what);
      if (d) {
        this.take(d);
        this.deps.onChanged(d);
      }
    } catch (e) {
      this.error = this.deps.errorText(e);
    } finally {
      this.busy = null;
    }
  }

  private take(d: PaymentDetail): void {
    const first = this.detail === null;
    const before = this.detail?.refunds.length ?? 0;
    this.detail = d;
    // a new refund was made (or the detail is new): the form starts over from what is left
    if (first || d.refunds.length !== before) {
      this.refundAmount = d.refundableText;
      this.refundReason = '';
    }
    if (!d.canForce) this.forceReason = '';
    const kept: Record<string, string> = {};
    for (const r of d.refunds) if (r.canResolve && this.resolveReasons[r.id]) kept[r.id] = this.resolveReasons[r.id];
    this.resolveReasons = kept;
  }
}
