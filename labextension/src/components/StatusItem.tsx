import { ReactWidget } from '@jupyterlab/ui-components';
import React from 'react';

import { WorkbenchApi } from '../api';
import { describeError } from '../model';
import { IHubStatus } from '../tokens';

/** Status bar item: which hub this JupyterLab uses and whether it answers (polled). */
export class StatusItem extends ReactWidget {
  constructor(
    private readonly api: WorkbenchApi,
    private intervalMs: number
  ) {
    super();
    this.addClass('wb-StatusItem');
    void this.check();
  }

  set interval(ms: number) {
    this.intervalMs = ms;
  }

  get status(): IHubStatus | null {
    return this._status;
  }

  async check(): Promise<void> {
    window.clearTimeout(this._timer);
    try {
      this._status = await this.api.status();
      this._error = this._status.reachable ? '' : this._status.error ?? 'The hub does not answer.';
    } catch (reason) {
      this._status = null;
      this._error = describeError(reason).message;
    }
    this.update();
    if (!this.isDisposed) {
      this._timer = window.setTimeout(() => void this.check(), this.intervalMs);
    }
  }

  dispose(): void {
    window.clearTimeout(this._timer);
    super.dispose();
  }

  render(): JSX.Element {
    const s = this._status;
    const up = !!s && s.reachable;
    const where = s ? s.hubUrl + (s.embedded ? ' (embedded)' : '') : 'unknown hub';
    const title = up
      ? `Workbench hub ${where}${s?.user ? `, signed in as ${s.user}` : ''}: answering`
      : `Workbench hub ${where}: ${this._error}`;
    return (
      <span
        className={`wb-Status ${up ? 'wb-mod-up' : 'wb-mod-down'}`}
        title={title}
        data-testid="wb-status"
        data-reachable={up}
        onClick={() => void this.check()}
      >
        ● Workbench: {s ? s.hubUrl : '…'} {up ? '' : '(not answering)'}
      </span>
    );
  }

  private _status: IHubStatus | null = null;
  private _error = '';
  private _timer: number | undefined = undefined;
}
