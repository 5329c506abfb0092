import React, { useEffect, useState } from 'react';

import { WorkbenchApi } from '../api';
import { describeError, jsonText } from '../model';
import { IColumnStatistics, IRowsPage, ISplit } from '../tokens';
import { ErrorBanner } from './ErrorBanner';
import { Histogram } from './Histogram';

const PAGE = 50;

function cell(value: unknown): string {
  if (value === null || value === undefined) {
    return '';
  }
  return jsonText(value);
}

/** The dataset viewer: a split's rows with search, filter, paging and column histograms. */
export function ViewerTab(props: { api: WorkbenchApi; id: string }): JSX.Element {
  const { api, id } = props;
  const [splits, setSplits] = useState<ISplit[]>([]);
  const [split, setSplit] = useState<ISplit | null>(null);
  const [search, setSearch] = useState('');
  const [where, setWhere] = useState('');
  const [applied, setApplied] = useState({ search: '', where: '' });
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<IRowsPage | null>(null);
  const [stats, setStats] = useState<IColumnStatistics[]>([]);
  const [error, setError] = useState<{ message: string; hubDown: boolean } | null>(null);

  useEffect(() => {
    api
      .splits(id)
      .then(r => {
        setSplits(r.splits);
        setSplit(r.splits[0] ?? null);
      })
      .catch(reason => setError(describeError(reason)));
  }, [id]);

  useEffect(() => {
    if (!split) {
      return;
    }
    setError(null);
    api
      .rows(id, split, { offset, length: PAGE, search: applied.search, where: applied.where })
      .then(setPage)
      .catch(reason => setError(describeError(reason)));
  }, [split, offset, applied]);

  useEffect(() => {
    if (split) {
      api
        .statistics(id, split)
        .then(r => setStats(r.statistics))
        .catch(() => setStats([]));
    }
  }, [split]);

  const apply = () => {
    setOffset(0);
    setApplied({ search: search.trim(), where: where.trim() });
  };
  const statsOf = (name: string) => stats.find(s => s.column_name === name);
  return (
    <div className="wb-Viewer" data-testid="wb-viewer">
      <div className="wb-Viewer-controls">
        <select
          className="jp-mod-styled"
          data-testid="wb-split"
          value={split ? `${split.config}/${split.split}` : ''}
          onChange={e => {
            setOffset(0);
            setSplit(splits.find(s => `${s.config}/${s.split}` === e.target.value) ?? null);
          }}
        >
          {splits.map(s => (
            <option key={`${s.config}/${s.split}`} value={`${s.config}/${s.split}`}>
              {s.config} / {s.split}
            </option>
          ))}
        </select>
        <input
          className="jp-mod-styled"
          data-testid="wb-viewer-search"
          placeholder="Search text columns"
          value={search}
          onChange={e => setSearch(e.target.value)}
          onKeyDown={e => e.key === 'Enter' && apply()}
        />
        <input
          className="jp-mod-styled"
          data-testid="wb-viewer-filter"
          placeholder="Filter, e.g. petal_length > 4 and species = 'virginica'"
          value={where}
          onChange={e => setWhere(e.target.value)}
          onKeyDown={e => e.key === 'Enter' && apply()}
        />
        <button className="jp-mod-styled" data-testid="wb-viewer-apply" onClick={apply}>
          Apply
        </button>
      </div>
      {error && <ErrorBanner {...error} onRetry={apply} />}
      {page && (
        <>
          <div className="wb-Viewer-count" data-testid="wb-viewer-count">
            Rows {page.num_rows_total ? offset + 1 : 0}–
            {Math.min(offset + PAGE, page.num_rows_total)} of {page.num_rows_total}
            <button
              className="jp-mod-styled"
              disabled={offset === 0}
              onClick={() => setOffset(Math.max(0, offset - PAGE))}
            >
              Previous
            </button>
            <button
              className="jp-mod-styled"
              disabled={offset + PAGE >= page.num_rows_total}
              onClick={() => setOffset(offset + PAGE)}
            >
              Next
            </button>
          </div>
          <div className="wb-Grid-scroll">
            <table className="wb-Table wb-Grid" data-testid="wb-grid">
              <thead>
                <tr>
                  <th>#</th>
                  {page.features.map(f => (
                    <th key={f.name}>
                      <div>{f.name}</div>
                      {statsOf(f.name) && <Histogram stats={statsOf(f.name)!} />}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {page.rows.map(r => (
                  <tr key={r.row_idx}>
                    <td className="wb-Num">{r.row_idx}</td>
                    {page.features.map(f => (
                      <td key={f.name}>{cell(r.row[f.name])}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </div>
  );
}
