// The manager area: reports and shifts (components/reports), the payments of a day, the audit
// log and the users. Protected actions inside still take a manager's PIN (the prompt).

import {
  api,
  type Approval,
  type AuditEntry,
  type AuditQuery,
  type PaymentView,
  type Role,
  type UserChange,
  type UserInfo,
  type WithApproval,
} from './api';
import type { MessageKey } from './i18n';
import { newPinProblem, pinFromText } from './pin';
import { isDateString } from './reports';
import { reportsApi } from './reportsApi';
import { ReconState } from './recon.svelte';
import { ChainState, SyncLine } from './chain.svelte';
import type { PrinterSettings } from './printing.svelte';

export type ManagerTab = 'reports' | 'shift' | 'payments' | 'recon' | 'chain' | 'audit' | 'users' | 'printer';
export const MANAGER_TABS: readonly ManagerTab[] = [
  'reports',
  'shift',
  'payments',
  'recon',
  'chain',
  'audit',
  'users',
  'printer',
];

/** The tabs this till shows: the Chain tab only where `[sync] chain_reports` is on. */
export function managerTabs(chainReports: boolean): ManagerTab[] {
  return MANAGER_TABS.filter((t) => t !== 'chain' || chainReports);
}

/** The actions of the audit log (the filter's choices). */
export const AUDIT_ACTIONS = [
  'sign_in',
  'sign_in_failed',
  'sign_out',
  'lock',
  'user_added',
  'refund',
  'refund_resolved',
  'force_outcome',
  'shift_open',
  'shift_close',
  'settings_change',
  'first_manager',
  'reconciled',
  'difference_resolved',
  'receipt_reprinted',
  'drawer_opened',
] as const;

export const AUDIT_PAGE = 100;

export interface ManagerDeps {
  withApproval: WithApproval;
  t(key: MessageKey): string;
  errorText(e: unknown): string;
}

// ---------------------------------------------------------------- dates

/** Local midnight at the start of `date` ("YYYY-MM-DD"), or null when it is not a date. */
export function dayStartMs(date: string): number | null {
  if (!isDateString(date)) return null;
  return new Date(`${date}T00:00:00`).getTime();
}

/** The last millisecond of `date` in local time, or null when it is not a date. */
export function dayEndMs(date: string): number | null {
  if (!isDateString(date)) return null;
  const d = new Date(`${date}T00:00:00`);
  d.setDate(d.getDate() + 1);
  return d.getTime() - 1;
}

// ---------------------------------------------------------------- audit

export interface AuditFilter {
  /** '' for every action */
  action: string;
  /** a user's name, '' for everyone */
  user: string;
  /** "YYYY-MM-DD" or '' (open) */
  from: string;
  to: string;
}

export type AuditFilterProblem = 'dateInvalid' | 'dateOrder';

/** The `audit_log` arguments for a filter, or why the dates cannot be used. */
export function auditQuery(f: AuditFilter, limit: number): { ok: true; query: AuditQuery } | { ok: false; problem: AuditFilterProblem } {
  const fromMs = f.from === '' ? null : dayStartMs(f.from);
  const toMs = f.to === '' ? null : dayEndMs(f.to);
  if ((f.from !== '' && fromMs === null) || (f.to !== '' && toMs === null)) return { ok: false, problem: 'dateInvalid' };
  if (fromMs !== null && toMs !== null && fromMs > toMs) return { ok: false, problem: 'dateOrder' };
  return {
    ok: true,
    query: { fromMs, toMs, action: f.action === '' ? null : f.action, user: f.user === '' ? null : f.user, limit },
  };
}

export class AuditState {
  filter = $state<AuditFilter>({ action: '', user: '', from: '', to: '' });
  entries = $state<AuditEntry[]>([]);
  loading = $state(false);
  error = $state<string | null>(null);
  /** the last answer was a full page: there may be older entries */
  more = $state(false);
  private limit = AUDIT_PAGE;
  private seq = 0;

  constructor(private readonly deps: ManagerDeps) {}

  /** Reads the newest entries for the filter (a changed filter starts from one page again). */
  load(): Promise<void> {
    this.limit = AUDIT_PAGE;
    return this.fetch();
  }

  /** Older entries: the same filter with a bigger page. */
  loadMore(): Promise<void> {
    if (!this.more || this.loading) return Promise.resolve();
    this.limit += AUDIT_PAGE;
    return this.fetch();
  }

  private async fetch(): Promise<void> {
    const q = auditQuery(this.filter, this.limit);
    if (!q.ok) {
      this.error = this.deps.t(q.problem);
      return;
    }
    const seq = ++this.seq;
    this.loading = true;
    this.error = null;
    try {
      const entries = await api.auditLog(q.query);
      if (seq !== this.seq) return;
      // newest first, as the core sends them; sorted again in case
      this.entries = [...entries].sort((a, b) => b.atMs - a.atMs || b.seq - a.seq);
      this.more = entries.length >= this.limit;
    } catch (e) {
      if (seq === this.seq) this.error = this.deps.errorText(e);
    } finally {
      if (seq === this.seq) this.loading = false;
    }
  }
}

// ---------------------------------------------------------------- users

export interface NewUserForm {
  name: string;
  role: Role;
  pin: string;
  pinAgain: string;
}

export class UsersState {
  users = $state<UserInfo[]>([]);
  loading = $state(false);
  error = $state<string | null>(null);
  form = $state<NewUserForm>({ name: '', role: 'clerk', pin: '', pinAgain: '' });
  busy = $state(false);
  formError = $state<string | null>(null);
  /** the name of the user just added (a confirmation line) */
  added = $state<string | null>(null);
  /** the user whose new PIN is being typed, with the PIN and its repeat */
  reset = $state<{ userId: number; pin: string; pinAgain: string } | null>(null);
  /** a change to a user is on its way */
  changing = $state(false);
  /** why the last change to a user did not happen */
  changeError = $state<string | null>(null);

  constructor(
    private readonly deps: ManagerDeps,
    /** the list changed: the sign-in screen and the PIN prompt list the same users */
    private readonly onUsers: (users: UserInfo[]) => void,
  ) {}

  async load(): Promise<void> {
    this.loading = true;
    this.error = null;
    try {
      this.users = await api.users();
      this.onUsers(this.users);
    } catch (e) {
      this.error = this.deps.errorText(e);
    } finally {
      this.loading = false;
    }
  }

  /** Disables, enables or unlocks a user (a manager approves; the prompt names the user). */
  async change(userId: number, what: Exclude<UserChange, 'reset_pin'>): Promise<void> {
    const name = this.users.find((u) => u.id === userId)?.name ?? '';
    await this.run(name, (approval) => api.changeUser(approval, userId, what));
  }

  /** Opens (or closes) the new-PIN form of a user. */
  startReset(userId: number | null): void {
    this.reset = userId === null ? null : { userId, pin: '', pinAgain: '' };
    this.changeError = null;
  }

  resetInput(field: 'pin' | 'pinAgain', text: string): void {
    if (this.reset) this.reset[field] = pinFromText(text);
  }

  /** Sets the typed PIN for the user (the new-PIN rules of their role apply). */
  async resetPin(): Promise<void> {
    const r = this.reset;
    const user = this.users.find((u) => u.id === r?.userId);
    if (!r || !user) return;
    const problem = newPinProblem(r.pin, r.pinAgain, user.role);
    if (problem) {
      this.changeError = this.deps.t(problem);
      return;
    }
    const done = await this.run(user.name, (approval) => api.changeUser(approval, user.id, 'reset_pin', r.pin));
    if (done) this.reset = null;
  }

  private async run(name: string, call: (approval: Approval) => Promise<UserInfo[]>): Promise<boolean> {
    if (this.changing) return false;
    this.changing = true;
    this.changeError = null;
    try {
      const users = await this.deps.withApproval('manage_users', call, name);
      if (!users) return false;
      this.users = users;
      this.onUsers(users);
      return true;
    } catch (e) {
      this.changeError = this.deps.errorText(e);
      return false;
    } finally {
      this.changing = false;
    }
  }

  input(field: 'pin' | 'pinAgain', text: string): void {
    this.form[field] = pinFromText(text);
  }

  async add(): Promise<void> {
    if (this.busy) return;
    const f = this.form;
    const name = f.name.trim();
    this.added = null;
    if (name === '') {
      this.formError = this.deps.t('nameRequired');
      return;
    }
    const problem = newPinProblem(f.pin, f.pinAgain, f.role);
    if (problem) {
      this.formError = this.deps.t(problem);
      return;
    }
    const { role, pin } = f;
    this.busy = true;
    this.formError = null;
    try {
      const users = await this.deps.withApproval('add_user', (approval) => api.addUser(approval, name, role, pin));
      if (users) {
        this.users = users;
        this.onUsers(users);
        this.form = { name: '', role: 'clerk', pin: '', pinAgain: '' };
        this.added = name;
      }
    } catch (e) {
      this.formError = this.deps.errorText(e);
    } finally {
      this.busy = false;
    }
  }
}

// ---------------------------------------------------------------- payments of a day

export class DayPayments {
  /** '' : the current business day (the `today` list); else "YYYY-MM-DD" */
  date = $state('');
  /** what the manager searches for (amount, payment code end, order number); '' : no search */
  query = $state('');
  /** the payments found for `query`, newest first; null while no search was made */
  found = $state<PaymentView[] | null>(null);
  /** another day's unresolved payments (`day_report`) */
  unresolved = $state<PaymentView[]>([]);
  loading = $state(false);
  error = $state<string | null>(null);
  private seq = 0;

  constructor(private readonly deps: ManagerDeps) {}

  async pick(date: string): Promise<void> {
    this.date = date;
    this.error = null;
    this.unresolved = [];
    if (date === '') return;
    if (!isDateString(date)) {
      this.error = this.deps.t('dateInvalid');
      return;
    }
    await this.reload();
  }

  /** Searches every day's payments; an empty query goes back to the day's lists. */
  async search(query: string): Promise<void> {
    this.query = query;
    this.error = null;
    if (query.trim() === '') {
      this.found = null;
      return;
    }
    const seq = ++this.seq;
    this.loading = true;
    try {
      const found = await api.searchPayments(query.trim());
      if (seq === this.seq) this.found = found;
    } catch (e) {
      if (seq === this.seq) this.error = this.deps.errorText(e);
    } finally {
      if (seq === this.seq) this.loading = false;
    }
  }

  /** Reads the picked day again (after an action on one of its payments). */
  async reload(): Promise<void> {
    if (this.date === '') return;
    const seq = ++this.seq;
    this.loading = true;
    try {
      const r = await reportsApi.dayReport(this.date);
      if (seq === this.seq) this.unresolved = r.unresolved;
    } catch (e) {
      if (seq === this.seq) this.error = this.deps.errorText(e);
    } finally {
      if (seq === this.seq) this.loading = false;
    }
  }
}

// ---------------------------------------------------------------- the area

export class ManagerArea {
  tab = $state<ManagerTab>('reports');
  readonly audit: AuditState;
  readonly users: UsersState;
  readonly payments: DayPayments;
  readonly recon: ReconState;
  readonly chain: ChainState;
  readonly sync = new SyncLine();

  constructor(
    deps: ManagerDeps,
    onUsers: (users: UserInfo[]) => void,
    /** the Printer tab (it shares the window's print queue) */
    readonly printer: PrinterSettings,
  ) {
    this.audit = new AuditState(deps);
    this.users = new UsersState(deps, onUsers);
    this.payments = new DayPayments(deps);
    this.recon = new ReconState(deps);
    this.chain = new ChainState(deps);
  }

  show(tab: ManagerTab): void {
    this.tab = tab;
    if (tab === 'audit' && this.audit.entries.length === 0 && !this.audit.loading) void this.audit.load();
    if (tab === 'users') void this.users.load();
    if (tab === 'recon') void this.recon.load();
    if (tab === 'chain') void this.chain.load();
    if (tab === 'printer') void this.printer.load();
  }
}
