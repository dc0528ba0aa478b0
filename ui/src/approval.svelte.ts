// The manager's PIN prompt for protected actions (refund, forcing an outcome, resolving a refund,
// closing a shift, changing settings, adding users, leaving kiosk mode). The caller passes the
// protected call in: `withApproval(action, (approval) => api.refund(approval, …))`. The prompt
// lists the managers (the signed-in manager preselected); OK runs the call with `{ userId, pin }`.
// The core checks the approval with each call (the prompt is not a session): a `wrong_pin`,
// `locked` or `forbidden` rejection is shown in the prompt, which stays open for another try;
// any other rejection closes it and is thrown to the caller, who shows it where the action was.

import { isCoreError, type Approval, type UserInfo, type WithApproval } from './api';
import { editPin, isPinFormat, pinFromText, pinScreenKey, type PinKey } from './pin';
import { preselectUser } from './people.svelte';

/** Rejections the prompt shows itself, staying open. */
const RETRY_CODES = new Set(['wrong_pin', 'locked', 'forbidden']);

export interface PromptState {
  action: string;
  /** what exactly is approved (amount, order), or null */
  what: string | null;
  /** the managers to pick from */
  managers: UserInfo[];
  userId: number | null;
  pin: string;
  /** the protected call is on its way */
  busy: boolean;
  /** the core's message (wrong PIN, locked, not a manager) or the UI's own (no manager picked, format) */
  error: string | null;
}

export interface ApprovalDeps {
  /** the users as the core lists them now (`users`) */
  users(): Promise<UserInfo[]>;
  /** the users known already (bootstrap), shown until `users` answers */
  knownUsers(): UserInfo[];
  /** the signed-in user's id, to preselect when a manager */
  sessionUserId(): number | null;
  /** the UI's own messages */
  message(key: 'approvalPickManager' | 'pinFormat'): string;
}

interface Pending {
  call: (approval: Approval) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
}

export function managersOf(users: readonly UserInfo[]): UserInfo[] {
  return users.filter((u) => u.role === 'manager' && !u.disabled);
}

/** The manager to preselect: the signed-in one, else the only one, else none (the sign-in
 * screen's rule for its users). */
export const preselectManager = preselectUser;

export class Approvals {
  prompt = $state<PromptState | null>(null);
  private pending: Pending | null = null;
  /** the manager was picked by hand (the fresh list from `users` does not change the pick) */
  private picked = false;

  constructor(private readonly deps: ApprovalDeps) {}

  /** See `WithApproval`. One prompt at a time: a second request while one is open is cancelled. */
  withApproval: WithApproval = <T>(
    action: string,
    call: (approval: Approval) => Promise<T>,
    what?: string,
  ): Promise<T | null> => {
    if (this.prompt) return Promise.resolve(null);
    this.picked = false;
    const managers = managersOf(this.deps.knownUsers());
    this.prompt = {
      action,
      what: what ?? null,
      managers,
      userId: preselectManager(managers, this.deps.sessionUserId()),
      pin: '',
      busy: false,
      error: null,
    };
    const prompt = this.prompt;
    void this.refreshManagers(prompt);
    return new Promise<T | null>((resolve, reject) => {
      this.pending = { call, resolve: resolve as (v: unknown) => void, reject };
    });
  };

  pick(userId: number): void {
    const p = this.prompt;
    if (!p || p.busy) return;
    p.userId = userId;
    p.error = null;
    this.picked = true;
  }

  press(key: PinKey): void {
    const p = this.prompt;
    if (!p || p.busy) return;
    p.pin = editPin(p.pin, key);
  }

  /** The PIN field changed by itself (typing, paste). */
  input(text: string): void {
    const p = this.prompt;
    if (!p || p.busy) return;
    p.pin = pinFromText(text);
  }

  /** OK: runs the protected call with the approval. */
  async submit(): Promise<void> {
    const p = this.prompt;
    const pending = this.pending;
    if (!p || !pending || p.busy) return;
    if (p.userId === null) {
      p.error = this.deps.message('approvalPickManager');
      return;
    }
    if (!isPinFormat(p.pin)) {
      p.error = this.deps.message('pinFormat');
      return;
    }
    p.busy = true;
    p.error = null;
    let result: unknown;
    try {
      result = await pending.call({ userId: p.userId, pin: p.pin });
    } catch (e) {
      if (this.prompt !== p) return; // cancelled meanwhile (signed out)
      if (isCoreError(e) && RETRY_CODES.has(e.code)) {
        p.busy = false;
        p.error = e.message;
        p.pin = '';
        return;
      }
      this.close();
      pending.reject(e);
      return;
    }
    if (this.prompt !== p) return;
    this.close();
    pending.resolve(result);
  }

  /** Cancel / Esc: the caller gets null. Not while the call is on its way. */
  cancel(): void {
    if (!this.prompt || this.prompt.busy) return;
    this.dismiss();
  }

  /** Closes the prompt whatever it is doing (signed out, locked): the caller gets null. */
  dismiss(): void {
    const pending = this.pending;
    if (!this.prompt) return;
    this.close();
    pending?.resolve(null);
  }

  /** Keys while the prompt is open (it takes them all): digits, Backspace, Enter, Esc. */
  onKeydown(e: KeyboardEvent): void {
    const k = pinScreenKey(e);
    if (k === null) return;
    e.preventDefault();
    if (k === 'escape') this.cancel();
    else if (k === 'enter') void this.submit();
    else this.press(k);
  }

  private close(): void {
    this.prompt = null;
    this.pending = null;
  }

  private async refreshManagers(p: PromptState): Promise<void> {
    let users: UserInfo[];
    try {
      users = await this.deps.users();
    } catch {
      return; // the known list stays
    }
    if (this.prompt !== p) return;
    p.managers = managersOf(users);
    const stillListed = p.managers.some((m) => m.id === p.userId);
    if (this.picked && stillListed) return;
    // the signed-in manager (or the only one) wins over an automatic pick that is still listed
    p.userId = preselectManager(p.managers, this.deps.sessionUserId()) ?? (stillListed ? p.userId : null);
  }
}
