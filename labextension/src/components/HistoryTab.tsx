import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import React, { useState } from 'react';

import { WorkbenchApi } from '../api';
import { formatAgo } from '../model';
import { ICommit, RepoType } from '../tokens';
import { DiffView } from './DiffView';

/** Commits newest first; pick two to see the diff between them. */
export function HistoryTab(props: {
  api: WorkbenchApi;
  rendermime: IRenderMimeRegistry;
  type: RepoType;
  id: string;
  commits: ICommit[];
  onShowCommit: (commit: string) => void;
}): JSX.Element {
  const { commits } = props;
  const [base, setBase] = useState<string>(commits.length > 1 ? commits[1].id : '');
  const [head, setHead] = useState<string>(commits.length > 0 ? commits[0].id : '');
  const [shown, setShown] = useState<[string, string] | null>(null);
  const option = (c: ICommit) => (
    <option key={c.id} value={c.id}>
      {c.id.slice(0, 8)} {c.title}
    </option>
  );
  return (
    <div>
      <table className="wb-Table" data-testid="wb-history">
        <thead>
          <tr>
            <th>Commit</th>
            <th>Message</th>
            <th>Author</th>
            <th>When</th>
          </tr>
        </thead>
        <tbody>
          {commits.map(c => (
            <tr key={c.id} data-commit={c.id}>
              <td>
                <button
                  className="wb-Link"
                  title="Show the repo at this commit"
                  onClick={() => props.onShowCommit(c.id)}
                >
                  <code>{c.id.slice(0, 8)}</code>
                </button>
              </td>
              <td className="wb-CommitTitle">{c.title}</td>
              <td>{c.authors.map(a => a.user).join(', ')}</td>
              <td title={c.date}>{formatAgo(c.date)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {commits.length > 1 && (
        <div className="wb-Compare">
          <label>
            From{' '}
            <select
              className="jp-mod-styled"
              data-testid="wb-diff-base"
              value={base}
              onChange={e => setBase(e.target.value)}
            >
              {commits.map(option)}
            </select>
          </label>
          <label>
            to{' '}
            <select
              className="jp-mod-styled"
              data-testid="wb-diff-head"
              value={head}
              onChange={e => setHead(e.target.value)}
            >
              {commits.map(option)}
            </select>
          </label>
          <button
            className="jp-mod-styled jp-mod-accept"
            data-testid="wb-diff-show"
            onClick={() => setShown([base, head])}
          >
            Show diff
          </button>
        </div>
      )}
      {shown && (
        <DiffView
          api={props.api}
          rendermime={props.rendermime}
          type={props.type}
          id={props.id}
          base={shown[0]}
          head={shown[1]}
        />
      )}
    </div>
  );
}
