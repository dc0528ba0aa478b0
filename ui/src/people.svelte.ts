// Who uses the till: the sign-in screen (pick a user, type the PIN), the first manager on a fresh
// install, signing out, the idle lock. The core keeps the session; this only shows it and sends
// what the person did.

import { api, isCoreError, type PeopleInfo, type Session, type UserInfo } from './api';
import type { MessageKey } from './i18n';
import { editPin, isPinFormat, newPinProblem, pinFromText, pinScreenKey, type PinKey } from './pin';

/** The sign-in screen's form (also the first manager's). */
export interface SignInForm {
  userId: number | null;
  pin: string;
  /** first run: the first manager's name and the PIN typed again */
  name: string;
  pinAgain: string;
  busy: boolean;
  error: string | null;
}

export interface PeopleDeps {
  t(key: MessageKey): string;
  /** a failed command's message for the person (the core's own, or "lost contact") */
  errorText(e: unknown): string;
  /** someone signed in (also the first manager) */
  onSignedIn(session: Session): void;
  /** no one is signed in any more (sign-out, lock, `signed_out` from any command) */
  onSignedOut(): void;
}

const NO_PEOPLE: PeopleInfo = { signInRequired: false, firstRun: false, idleLockMs: 0, users: [], session: null };

function emptyForm(userId: number | null = null): SignInForm {
  return { userId, pin: '', name: '', pinAgain: '', busy: false, error: null };
}

/** The user to preselect on the sign-in screen: the one who was locked out, else the only one. */
export function preselectUser(users: readonly UserInfo[], lastUserId: number | null): number | null {
  if (lastUserId !== null && users.some((u) => u.id === lastUserId)) return lastUserId;
  return users.length === 1 ? users[0].id : null;
}

export class People {
  info = $state<PeopleInfo>(NO_PEOPLE);
  session = $state<Session | null>(null);
  form = $state<SignInForm>(emptyForm());
  /** signing in is optional and the person opened the sign-in screen from the header */
  optionalOpen = $state(false);

  /** The sign-in (or first manager) screen shows, and nothing else acts. */
  screen: boolean = $derived(
    this.session === null && (this.info.signInRequired || this.info.firstRun || this.optionalOpen),
  );
  /** No user yet: the screen offers to create the first manager. */
  firstRun: boolean = $derived(this.info.firstRun && this.info.users.length === 0);

  constructor(private readonly deps: PeopleDeps) {}

  /** Takes `Bootstrap.people` (start, language switch). */
  apply(info: PeopleInfo | undefined): void {
    const had = this.session;
    this.info = info ?? NO_PEOPLE;
    this.session = this.info.session;
    if (!this.session && this.form.userId === null) this.form.userId = preselectUser(this.info.users, null);
    if (had && !this.session) this.deps.onSignedOut();
  }

  pick(userId: number): void {
    if (this.form.busy) return;
    this.form.userId = userId;
    this.form.error = null;
  }

  /** The next (1) or previous (-1) user in the list, wrapping round; the first when none is picked. */
  pickNext(step: number): void {
    const users = this.info.users;
    if (users.length === 0 || this.form.busy) return;
    const at = users.findIndex((u) => u.id === this.form.userId);
    const next = at < 0 ? 0 : (at + step + users.length) % users.length;
    this.pick(users[next].id);
  }

  press(key: PinKey): void {
    if (this.form.busy) return;
    this.form.pin = editPin(this.form.pin, key);
  }

  /** A PIN field changed by itself (typing, paste): its digits only. */
  input(field: 'pin' | 'pinAgain', text: string): void {
    if (this.form.busy) return;
    this.form[field] = pinFromText(text);
  }

  /** A demo user's hint: picks that user and types the PIN. */
  useDemo(name: string, pin: string): void {
    const user = this.info.users.find((u) => u.name === name);
    if (!user || this.form.busy) return;
    this.form.userId = user.id;
    this.form.pin = pinFromText(pin);
    this.form.error = null;
  }

  async signIn(): Promise<void> {
    const f = this.form;
    if (f.busy) return;
    if (f.userId === null) {
      f.error = this.deps.t('signInPickUser');
      return;
    }
    if (!isPinFormat(f.pin)) {
      f.error = this.deps.t('pinFormat');
      return;
    }
    f.busy = true;
    f.error = null;
    try {
      this.signedIn(await api.signIn(f.userId, f.pin));
    } catch (e) {
      f.error = this.deps.errorText(e);
      f.pin = '';
    } finally {
      f.busy = false;
    }
  }

  async createFirstManager(): Promise<void> {
    const f = this.form;
    if (f.busy) return;
    const name = f.name.trim();
    if (name === '') {
      f.error = this.deps.t('nameRequired');
      return;
    }
    const problem = newPinProblem(f.pin, f.pinAgain, 'manager');
    if (problem) {
      f.error = this.deps.t(problem);
      return;
    }
    f.busy = true;
    f.error = null;
    try {
      const session = await api.createFirstManager(name, f.pin);
      // a user exists now: from here on signing in is as the core's config says (required on a
      // profile that asked for the first manager)
      this.info = { ...this.info, firstRun: false, signInRequired: true };
      this.signedIn(session);
      void this.refreshUsers();
    } catch (e) {
      f.error = this.deps.errorText(e);
    } finally {
      f.busy = false;
    }
  }

  async signOut(): Promise<void> {
    if (!this.session) return;
    let error: string | null = null;
    try {
      await api.signOut();
    } catch (e) {
      // signed out anyway as far as this window goes; say why the core did not answer
      if (!isCoreError(e) || e.code !== 'signed_out') error = this.deps.errorText(e);
    }
    this.leave(null);
    this.form.error = error;
  }

  /** The idle lock: the core forgets the session, the screen preselects the same user. */
  async lock(): Promise<void> {
    if (!this.session) return;
    const last = this.session.userId;
    try {
      await api.lock();
    } catch {
      // locked on this screen whatever the core said
    }
    this.leave(last);
  }

  /** A command was rejected with `signed_out`: signing in is required and no one is signed in. */
  signedOutByCore(): void {
    if (this.session === null && this.screen) return; // the sign-in screen shows already
    const last = this.session?.userId ?? null;
    this.info = { ...this.info, signInRequired: true };
    this.leave(last);
  }

  private leave(lastUserId: number | null): void {
    this.session = null;
    this.optionalOpen = false;
    this.form = emptyForm(preselectUser(this.info.users, lastUserId));
    this.deps.onSignedOut();
    if (this.screen) void this.refreshUsers();
  }

  /** Signing in is optional: the header's sign-in button. */
  openOptional(): void {
    if (this.session || this.screen) return;
    this.form = emptyForm(preselectUser(this.info.users, null));
    this.optionalOpen = true;
  }

  closeOptional(): void {
    if (this.form.busy) return;
    this.optionalOpen = false;
  }

  /** Keys while the screen shows (it takes them all): digits, Backspace, Enter, Esc. */
  onKeydown(e: KeyboardEvent): void {
    // arrows pick the user (digits are the PIN's): the sign-in works without a mouse
    const step = { ArrowUp: -1, ArrowLeft: -1, ArrowDown: 1, ArrowRight: 1 }[e.key];
    if (step !== undefined && !this.firstRun && !e.ctrlKey && !e.metaKey && !e.altKey) {
      e.preventDefault();
      this.pickNext(step);
      return;
    }
    const k = pinScreenKey(e);
    if (k === null) return;
    e.preventDefault();
    if (k === 'escape') {
      if (this.optionalOpen) this.closeOptional();
      else this.form.pin = '';
    } else if (k === 'enter') {
      void (this.firstRun ? this.createFirstManager() : this.signIn());
    } else if (!this.firstRun) {
      this.press(k);
    }
  }

  async refreshUsers(): Promise<void> {
    try {
      const users = await api.users();
      this.info = { ...this.info, users };
      if (this.screen && this.form.userId !== null && !users.some((u) => u.id === this.form.userId)) {
        this.form.userId = preselectUser(users, null);
      }
    } catch {
      // the list bootstrap sent stays
    }
  }

  private signedIn(session: Session): void {
    this.session = session;
    this.optionalOpen = false;
    this.form = emptyForm(session.userId);
    this.deps.onSignedIn(session);
  }
}
