/**
 * The inbox: the user's notifications (mentions, comments on watched repos, pull request and
 * access-request changes) and how many are unread, polled so the status bar stays current.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { WorkbenchApi } from './api';
import { describeError } from './model';
import { INotification } from './tokens';

export class InboxModel {
  constructor(
    private readonly api: WorkbenchApi,
    private intervalMs = 30_000
  ) {}

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get notifications(): INotification[] {
    return this._notifications;
  }

  get unread(): number {
    return this._unread;
  }

  get error(): { message: string; hubDown: boolean } | null {
    return this._error;
  }

  /** Check now, then every `intervalMs` until disposed. */
  start(): void {
    window.clearTimeout(this._timer);
    void this.refresh().finally(() => {
      if (!this._disposed) {
        this._timer = window.setTimeout(() => this.start(), this.intervalMs);
      }
    });
  }

  dispose(): void {
    this._disposed = true;
    window.clearTimeout(this._timer);
  }

  async refresh(): Promise<void> {
    const seq = ++this._seq;
    try {
      const answer = await this.api.notifications(true);
      if (seq !== this._seq) {
        return;
      }
      this._notifications = answer.notifications;
      this._unread = answer.unread;
      this._error = null;
    } catch (reason) {
      if (seq !== this._seq) {
        return;
      }
      this._error = describeError(reason);
    }
    this._changed.emit();
  }

  async markRead(ids: number[] | 'all'): Promise<void> {
    try {
      await this.api.markRead(ids);
    } catch (reason) {
      this._error = describeError(reason);
      this._changed.emit();
      return;
    }
    await this.refresh();
  }

  private _changed = new Signal<this, void>(this);
  private _notifications: INotification[] = [];
  private _unread = 0;
  private _error: { message: string; hubDown: boolean } | null = null;
  private _seq = 0;
  private _timer: number | undefined = undefined;
  private _disposed = false;
}

/** A notification in words: who did what where. */
export function describeNotification(n: INotification): string {
  const who = n.actor ?? 'Someone';
  const where = n.repo.name ?? 'a repo';
  const thread = n.discussion !== null ? `#${n.discussion}${n.title ? ` ${n.title}` : ''}` : '';
  switch (n.kind) {
    case 'mention':
      return `${who} mentioned you in ${where} ${thread}`.trim();
    case 'comment':
      return `${who} commented on ${where} ${thread}`.trim();
    case 'discussion':
      return `${who} opened ${where} ${thread}`.trim();
    case 'status':
      return `${who} changed the status of ${where} ${thread}`.trim();
    case 'access-request':
      return `${who} asks for access to ${where}`;
    case 'access-accepted':
      return `${who} gave you access to ${where}`;
    case 'access-rejected':
      return `${who} turned down your access request to ${where}${n.detail ? `: ${n.detail}` : ''}`;
    case 'access-pending':
      return `${who} put your access request to ${where} back to pending`;
    default:
      return `${who}: ${n.kind} in ${where} ${thread}`.trim();
  }
}
