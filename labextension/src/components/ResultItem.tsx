import React from 'react';

import { formatAgo, formatCount } from '../model';
import { ISearchResult } from '../tokens';

/** One search hit: id, type, summary, likes, downloads and last update. */
export function ResultItem(props: {
  result: ISearchResult;
  onOpen: (result: ISearchResult) => void;
}): JSX.Element {
  const r = props.result;
  return (
    <li className="wb-Result" data-testid="wb-result" data-repo-id={r.id} data-repo-type={r.type}>
      <button className="wb-Result-open" onClick={() => props.onOpen(r)} title={`Open ${r.id}`}>
        <span className={`wb-Badge wb-Badge-${r.type}`}>{r.type}</span>
        <span className="wb-Result-id">{r.id}</span>
        {r.private && <span className="wb-Badge">private</span>}
      </button>
      {r.summary && <div className="wb-Result-summary">{r.summary}</div>}
      <div className="wb-Result-meta">
        <span title="likes" data-testid="wb-likes">
          ♥ {formatCount(r.likes)}
        </span>
        <span title="downloads" data-testid="wb-downloads">
          ⤓ {formatCount(r.downloads)}
        </span>
        {r.lastModified && (
          <span title={r.lastModified} data-testid="wb-updated">
            updated {formatAgo(r.lastModified)}
          </span>
        )}
        {r.task && <span className="wb-Tag">{r.task}</span>}
      </div>
    </li>
  );
}
