import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import React from 'react';

import { describeNotification, InboxModel } from '../inbox';
import { formatAgo } from '../model';
import { IDeepLink, INotification } from '../tokens';
import { ErrorBanner } from './ErrorBanner';

export const INBOX_PANEL_ID = 'workbench-inbox';

function Entry(props: {
  model: InboxModel;
  n: INotification;
  onOpen: (link: IDeepLink) => void;
}): JSX.Element {
  const { model, n } = props;
  const open = () => {
    if (n.repo.type && n.repo.name) {
      props.onOpen({
        type: n.repo.type,
        id: n.repo.name,
        ...(n.discussion !== null ? { discussion: n.discussion } : {})
      });
    }
    if (!n.read) {
      void model.markRead([n.id]);
    }
  };
  return (
    <li
      className={`wb-Inbox-entry${n.read ? '' : ' wb-mod-unread'}`}
      data-testid="wb-inbox-entry"
      data-kind={n.kind}
      data-read={n.read}
    >
      {/* Titles and details are other people's text: shown as text, never as HTML. */}
      <button className="wb-Inbox-open" onClick={open} title="Open where it happened">
        {describeNotification(n)}
      </button>
      <span className="wb-Inbox-when">{formatAgo(n.createdAt)}</span>
    </li>
  );
}

export function InboxView(props: {
  model: InboxModel;
  onOpen: (link: IDeepLink) => void;
}): JSX.Element {
  const { model } = props;
  return (
    <div className="wb-SidebarContent wb-Inbox">
      <h2 className="wb-Sidebar-title">Inbox</h2>
      <div className="wb-Inbox-actions">
        <span data-testid="wb-inbox-unread">{model.unread} unread</span>
        <button
          className="jp-mod-styled"
          data-testid="wb-inbox-read-all"
          disabled={model.unread === 0}
          onClick={() => void model.markRead('all')}
        >
          Mark all read
        </button>
        <button className="jp-mod-styled" onClick={() => void model.refresh()}>
          Refresh
        </button>
      </div>
      {model.error && <ErrorBanner {...model.error} onRetry={() => void model.refresh()} />}
      {model.notifications.length === 0 ? (
        <p className="wb-Empty">
          Nothing yet: mentions, comments on repos you watch, and pull request and access request
          changes arrive here.
        </p>
      ) : (
        <ul className="wb-Team-list" data-testid="wb-inbox-list">
          {model.notifications.map(n => (
            <Entry key={n.id} model={model} n={n} onOpen={props.onOpen} />
          ))}
        </ul>
      )}
    </div>
  );
}

/** The "Workbench Inbox" left panel. */
export class InboxPanel extends ReactWidget {
  constructor(
    readonly model: InboxModel,
    private readonly onOpen: (link: IDeepLink) => void
  ) {
    super();
    this.id = INBOX_PANEL_ID;
    this.addClass('wb-Sidebar');
    this.title.caption = 'Workbench Inbox';
  }

  render(): JSX.Element {
    return (
      <UseSignal signal={this.model.changed}>
        {() => <InboxView model={this.model} onOpen={this.onOpen} />}
      </UseSignal>
    );
  }
}

/** Status bar: the unread count; a click opens the inbox. */
export class InboxStatus extends ReactWidget {
  constructor(
    private readonly model: InboxModel,
    private readonly onClick: () => void
  ) {
    super();
    this.addClass('wb-InboxStatus');
    model.changed.connect(() => this.update());
  }

  render(): JSX.Element {
    const unread = this.model.unread;
    return (
      <button
        className="wb-InboxStatus-button"
        data-testid="wb-inbox-status"
        data-unread={unread}
        title={`Workbench inbox: ${unread} unread`}
        onClick={this.onClick}
      >
        ✉ {unread}
      </button>
    );
  }
}
