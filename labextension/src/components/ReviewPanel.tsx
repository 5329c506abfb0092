import React, { useEffect, useState } from 'react';

import { WorkbenchApi } from '../api';
import { describeError, formatAgo } from '../model';
import { IReviews, IReviewThread, RepoType } from '../tokens';
import { ErrorBanner } from './ErrorBanner';

const STATES: Record<string, string> = {
  approve: 'approved',
  request_changes: 'changes requested',
  comment: 'commented'
};

function Thread(props: {
  thread: IReviewThread;
  onReply: (text: string) => void;
  onResolve: (resolved: boolean) => void;
}): JSX.Element {
  const { thread } = props;
  const [reply, setReply] = useState('');
  const a = thread.anchor;
  const where = a.cell !== undefined && a.cell !== null ? `cell ${a.cell}` : `line ${a.line}`;
  return (
    <li
      className="wb-ReviewThread"
      data-testid="wb-review-thread"
      data-resolved={thread.resolved}
      data-path={a.path}
    >
      <div className="wb-CellComment-head">
        {a.path}, {where} ({a.side})
        {thread.resolved ? ` · resolved by ${thread.resolvedBy ?? ''}` : ''}
      </div>
      {/* Bodies are other people's markdown: shown as text here. */}
      {thread.comments.map(c => (
        <div key={c.id} className="wb-ReviewComment" data-testid="wb-review-comment">
          <b>{c.author}</b> · {formatAgo(c.createdAt)}: {c.body}
        </div>
      ))}
      <div className="wb-Team-actions">
        <input
          className="jp-mod-styled"
          placeholder="Reply"
          data-testid="wb-review-reply"
          value={reply}
          onChange={e => setReply(e.target.value)}
        />
        <button
          className="jp-mod-styled"
          disabled={!reply.trim()}
          onClick={() => {
            props.onReply(reply.trim());
            setReply('');
          }}
        >
          Reply
        </button>
        <button
          className="jp-mod-styled"
          data-testid="wb-review-resolve"
          onClick={() => props.onResolve(!thread.resolved)}
        >
          {thread.resolved ? 'Reopen' : 'Resolve'}
        </button>
      </div>
    </li>
  );
}

/** A pull request's reviews: who approved or asked for changes, the approvals the repo
 * requires, the review threads on the diff, and a form to review. */
export function ReviewPanel(props: {
  api: WorkbenchApi;
  type: RepoType;
  id: string;
  num: number;
  version: number;
  onChange: () => void;
}): JSX.Element {
  const { api, type, id, num } = props;
  const [reviews, setReviews] = useState<IReviews | null>(null);
  const [threads, setThreads] = useState<IReviewThread[]>([]);
  const [summary, setSummary] = useState('');
  const [error, setError] = useState<{ message: string; hubDown: boolean } | null>(null);
  useEffect(() => {
    Promise.all([api.reviews(type, id, num), api.reviewThreads(type, id, num)])
      .then(([r, t]) => {
        setReviews(r);
        setThreads(t);
      })
      .catch(reason => setError(describeError(reason)));
  }, [num, props.version]);
  const act = (change: Promise<unknown>) =>
    change
      .then(() => {
        setError(null);
        props.onChange();
      })
      .catch(reason => setError(describeError(reason)));
  const submit = (state: 'comment' | 'approve' | 'request_changes') =>
    act(api.review(type, id, num, state, summary.trim())).then(() => setSummary(''));
  const approvals = reviews?.approvals;
  return (
    <section className="wb-Reviews" data-testid="wb-reviews">
      <h4>Reviews</h4>
      {error && <ErrorBanner {...error} />}
      {approvals && (
        <p data-testid="wb-approvals" data-satisfied={approvals.satisfied}>
          {approvals.approvals} approval{approvals.approvals === 1 ? '' : 's'}
          {approvals.required ? ` of ${approvals.required} required` : ''}
          {approvals.approvedBy.length ? ` (${approvals.approvedBy.join(', ')})` : ''}
          {approvals.changesRequestedBy.length
            ? ` · changes requested by ${approvals.changesRequestedBy.join(', ')}`
            : ''}
          {approvals.staleApprovedBy?.length
            ? ` · stale (new commits since): ${approvals.staleApprovedBy.join(', ')}`
            : ''}
        </p>
      )}
      <ul className="wb-Team-list">
        {(reviews?.reviews ?? []).map(r => (
          <li
            key={r.id}
            data-testid="wb-review"
            data-state={r.state}
            data-author={r.author}
            data-stale={r.stale}
          >
            <b>{r.author}</b> {STATES[r.state] ?? r.state}
            {r.stale ? ' (stale)' : ''} · {formatAgo(r.createdAt)}
            {r.summary ? `: ${r.summary}` : ''}
          </li>
        ))}
      </ul>
      {threads.length > 0 && (
        <ul className="wb-Team-list" data-testid="wb-review-threads">
          {threads.map(t => (
            <Thread
              key={t.id}
              thread={t}
              onReply={text =>
                void act(
                  api.reviewComment(type, id, num, { inReplyTo: t.comments[0].id, body: text })
                )
              }
              onResolve={resolved => void act(api.resolveThread(type, id, num, t.id, resolved))}
            />
          ))}
        </ul>
      )}
      <textarea
        className="jp-mod-styled wb-CommentBox"
        data-testid="wb-review-summary"
        placeholder="Review summary (markdown)"
        value={summary}
        onChange={e => setSummary(e.target.value)}
      />
      <div className="wb-Team-actions">
        <button
          className="jp-mod-styled"
          data-testid="wb-review-comment-only"
          disabled={!summary.trim()}
          onClick={() => void submit('comment')}
        >
          Comment
        </button>
        <button
          className="jp-mod-styled jp-mod-accept"
          data-testid="wb-review-approve"
          onClick={() => void submit('approve')}
        >
          Approve
        </button>
        <button
          className="jp-mod-styled jp-mod-warn"
          data-testid="wb-review-request-changes"
          disabled={!summary.trim()}
          onClick={() => void submit('request_changes')}
        >
          Request changes
        </button>
      </div>
    </section>
  );
}
