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
    // Only the latest check may show its answer: one started before the hub URL changed
    // can come back after one started after it.
    const seq = ++this._seq;
    let status: IHubStatus | null = null;
    let error = '';
    try {
      status = await this.api.status();
      error = status.reachable ? '' : (status.error ?? 'The hub does not answer.');
    } catch (reason) {
      error = describeError(reason).message;
    }
    if (seq !== this._seq) {
      return;
    }
    this._status = status;
    this._error = error;
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
        data-hub-url={s ? s.hubUrl : ''}
        onClick={() => void this.check()}
      >
        ● Workbench: {s ? s.hubUrl : '…'} {up ? '' : '(not answering)'}
      </span>
    );
  }

  private _status: IHubStatus | null = null;
  private _error = '';
  private _timer: number | undefined = undefined;
  private _seq = 0;
}
