import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import React, { useEffect, useState } from 'react';

import { WorkbenchApi } from '../api';
import { describeError, formatAgo } from '../model';
import { InputDialog } from '@jupyterlab/apputils';

import { IDiscussion, IDiscussionDetails, IReviewAnchor, RepoType } from '../tokens';
import { ReviewPanel } from './ReviewPanel';
import { DiffView } from './DiffView';
import { ErrorBanner } from './ErrorBanner';
import { Markdown } from './Markdown';

/** One discussion or pull request: its events, comments rendered through the sanitizer. */
function Thread(props: {
  api: WorkbenchApi;
  rendermime: IRenderMimeRegistry;
  type: RepoType;
  id: string;
  num: number;
  onBack: () => void;
}): JSX.Element {
  const { api, type, id, num } = props;
  const [details, setDetails] = useState<IDiscussionDetails | null>(null);
  const [text, setText] = useState('');
  const [error, setError] = useState<{ message: string; hubDown: boolean } | null>(null);
  const [version, setVersion] = useState(0);
  useEffect(() => {
    api
      .discussion(type, id, num)
      .then(setDetails)
      .catch(reason => setError(describeError(reason)));
  }, [num, version]);
  const merge = () => {
    api
      .merge(type, id, num)
      .then(() => setVersion(v => v + 1))
      .catch(reason => setError(describeError(reason)));
  };
  const commentOn = (anchor: IReviewAnchor) => {
    void InputDialog.getText({
      title: `Comment on ${anchor.path}, cell ${anchor.cell} (${anchor.side})`,
      placeholder: 'Your review comment (markdown)'
    }).then(answer => {
      if (!answer.button.accept || !answer.value?.trim()) {
        return;
      }
      api
        .reviewComment(type, id, num, { anchor, body: answer.value.trim() })
        .then(() => setVersion(v => v + 1))
        .catch(reason => setError(describeError(reason)));
    });
  };
  const send = () => {
    api
      .comment(type, id, num, { comment: text })
      .then(() => {
        setText('');
        setVersion(v => v + 1);
      })
      .catch(reason => setError(describeError(reason)));
  };
  return (
    <div className="wb-Thread" data-testid="wb-thread">
      <button className="wb-Link" onClick={props.onBack}>
        ← All discussions
      </button>
      {error && <ErrorBanner {...error} onRetry={() => setVersion(v => v + 1)} />}
      {details && (
        <>
          <h3>
            #{details.num} {details.title}{' '}
            <span className="wb-Badge">
              {details.isPullRequest ? 'pull request' : 'discussion'}
            </span>{' '}
            <span className="wb-Badge">{details.status}</span>
          </h3>
          {details.isPullRequest && details.changes && (
            <section className="wb-PullRequest" data-testid="wb-pr">
              <p>
                <code>{details.changes.headRef}</code> into <code>{details.changes.base}</code>
                {details.filesWithConflicts?.length
                  ? ` · conflicts: ${details.filesWithConflicts.join(', ')}`
                  : ''}
              </p>
              {details.status === 'open' && (
                <button
                  className="jp-mod-styled jp-mod-accept"
                  data-testid="wb-pr-merge"
                  onClick={merge}
                >
                  Merge into {details.changes.base}
                </button>
              )}
              {details.status === 'open' && (
                <ReviewPanel
                  api={api}
                  type={type}
                  id={id}
                  num={num}
                  version={version}
                  onChange={() => setVersion(v => v + 1)}
                />
              )}
              <DiffView
                api={api}
                rendermime={props.rendermime}
                type={type}
                id={id}
                base={details.changes.baseOid}
                head={details.changes.head}
                onComment={details.status === 'open' ? commentOn : undefined}
              />
            </section>
          )}
          {details.events.map(ev => (
            <div key={ev.id} className="wb-Event" data-testid="wb-event">
              <div className="wb-CellComment-head">
                {ev.author.name} · {formatAgo(ev.createdAt)}
                {ev.anchor?.path
                  ? ` · on ${ev.anchor.path}${ev.anchor.cell ? ` (cell ${ev.anchor.cell})` : ''}`
                  : ''}
              </div>
              {ev.type === 'comment' ? (
                <Markdown
                  rendermime={props.rendermime}
                  source={ev.data?.latest?.raw ?? ''}
                  testId="wb-event-body"
                />
              ) : (
                <div className="wb-Empty">
                  {ev.type} {ev.data?.status ?? ''} {ev.data?.to ? `→ ${ev.data.to}` : ''}
                </div>
              )}
            </div>
          ))}
          <textarea
            className="jp-mod-styled wb-CommentBox"
            data-testid="wb-comment-box"
            placeholder="Comment (markdown)"
            value={text}
            onChange={e => setText(e.target.value)}
          />
          <button
            className="jp-mod-styled jp-mod-accept"
            data-testid="wb-comment-send"
            disabled={!text.trim()}
            onClick={send}
          >
            Comment
          </button>
        </>
      )}
    </div>
  );
}

/** Discussions and pull requests of a repo, with a box to open a new discussion. */
export function DiscussionsTab(props: {
  api: WorkbenchApi;
  rendermime: IRenderMimeRegistry;
  type: RepoType;
  id: string;
  /** A discussion or pull request to show first (a deep link's `/pr/N`). */
  initial?: number;
}): JSX.Element {
  const { api, type, id } = props;
  const [list, setList] = useState<IDiscussion[]>([]);
  const [open, setOpen] = useState<number | null>(props.initial ?? null);
  const [title, setTitle] = useState('');
  const [body, setBody] = useState('');
  const [error, setError] = useState<{ message: string; hubDown: boolean } | null>(null);
  const [version, setVersion] = useState(0);
  useEffect(() => {
    api
      .discussions(type, id, 'all', 'all')
      .then(r => setList(r.discussions))
      .catch(reason => setError(describeError(reason)));
  }, [id, version]);
  if (open !== null) {
    return (
      <Thread
        {...props}
        num={open}
        onBack={() => {
          setOpen(null);
          setVersion(v => v + 1);
        }}
      />
    );
  }
  const create = () => {
    api
      .createDiscussion(type, id, { title: title.trim(), description: body })
      .then(r => {
        setTitle('');
        setBody('');
        setOpen(r.num);
      })
      .catch(reason => setError(describeError(reason)));
  };
  return (
    <div className="wb-Discussions" data-testid="wb-discussions">
      {error && <ErrorBanner {...error} onRetry={() => setVersion(v => v + 1)} />}
      {list.length === 0 ? (
        <p className="wb-Empty">No discussions or pull requests yet.</p>
      ) : (
        <table className="wb-Table" data-testid="wb-discussion-list">
          <tbody>
            {list.map(d => (
              <tr key={d.num} data-num={d.num}>
                <td>#{d.num}</td>
                <td>
                  <button className="wb-Link" onClick={() => setOpen(d.num)}>
                    {d.title}
                  </button>
                </td>
                <td>{d.isPullRequest ? 'pull request' : 'discussion'}</td>
                <td>{d.status}</td>
                <td>{d.author?.name}</td>
                <td>{formatAgo(d.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h3>New discussion</h3>
      <input
        className="jp-mod-styled"
        data-testid="wb-new-title"
        placeholder="Title"
        value={title}
        onChange={e => setTitle(e.target.value)}
      />
      <textarea
        className="jp-mod-styled wb-CommentBox"
        data-testid="wb-new-body"
        placeholder="What is it about? (markdown)"
        value={body}
        onChange={e => setBody(e.target.value)}
      />
      <button
        className="jp-mod-styled jp-mod-accept"
        data-testid="wb-new-open"
        disabled={!title.trim()}
        onClick={create}
      >
        Open discussion
      </button>
    </div>
  );
}
