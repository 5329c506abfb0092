import React, { useEffect, useState } from 'react';

import { WorkbenchApi } from '../api';
import { describeError, diffLines, diffNotebooks, formatSize } from '../model';
import { ICellChange, ICompare, ICompareFile, RepoType } from '../tokens';
import { ErrorBanner } from './ErrorBanner';

const TEXT = /\.(md|txt|py|json|ya?ml|csv|tsv|toml|cfg|ini|jsonl|js|ts|r|sh|tex|bib)$/i;
const MAX_TEXT = 512 * 1024;

function CellDiff(props: { changes: ICellChange[] }): JSX.Element {
  return (
    <div className="wb-CellDiff" data-testid="wb-cell-diff">
      {props.changes.map((c, i) => (
        <div key={i} className={`wb-Cell wb-Cell-${c.kind}`} data-kind={c.kind}>
          <div className="wb-Cell-head">
            {c.cellType} cell · {c.kind}
          </div>
          {c.kind === 'modified' ? (
            <pre>{diffLines(c.oldSource, c.newSource).join('\n')}</pre>
          ) : (
            <pre>{c.newSource ?? c.oldSource}</pre>
          )}
        </div>
      ))}
    </div>
  );
}

function FileDiff(props: {
  api: WorkbenchApi;
  type: RepoType;
  id: string;
  compare: ICompare;
  file: ICompareFile;
}): JSX.Element {
  const { api, type, id, compare, file } = props;
  const [body, setBody] = useState<JSX.Element | null>(null);
  useEffect(() => {
    const notebook = file.path.endsWith('.ipynb');
    const small = Math.max(file.oldSize ?? 0, file.newSize ?? 0) <= MAX_TEXT;
    if (!(notebook || TEXT.test(file.path)) || !small) {
      setBody(
        <p className="wb-Empty">
          Binary or large file: {formatSize(file.oldSize)} → {formatSize(file.newSize)}
        </p>
      );
      return;
    }
    const get = (rev: string, present: boolean) =>
      present ? api.fileText(type, id, rev, file.path) : Promise.resolve(null);
    Promise.all([
      get(compare.base, file.status !== 'added'),
      get(compare.head, file.status !== 'removed')
    ])
      .then(([before, after]) => {
        if (notebook) {
          setBody(<CellDiff changes={diffNotebooks(before, after)} />);
        } else {
          setBody(<pre className="wb-LineDiff">{diffLines(before, after).join('\n')}</pre>);
        }
      })
      .catch(reason => setBody(<ErrorBanner {...describeError(reason)} />));
  }, [compare.base, compare.head, file.path]);
  return (
    <section className="wb-FileDiff" data-path={file.path}>
      <h4>
        <span className={`wb-Status wb-Status-${file.status}`}>{file.status}</span> {file.path}
      </h4>
      {body ?? <p className="wb-Empty">Loading…</p>}
    </section>
  );
}

/** What changed between two commits, file by file; notebooks are diffed cell by cell. */
export function DiffView(props: {
  api: WorkbenchApi;
  type: RepoType;
  id: string;
  base: string;
  head: string;
}): JSX.Element {
  const [compare, setCompare] = useState<ICompare | null>(null);
  const [error, setError] = useState<{ message: string; hubDown: boolean } | null>(null);
  useEffect(() => {
    setCompare(null);
    props.api
      .compare(props.type, props.id, props.base, props.head)
      .then(setCompare)
      .catch(reason => setError(describeError(reason)));
  }, [props.base, props.head]);
  if (error) {
    return <ErrorBanner {...error} />;
  }
  if (!compare) {
    return <p className="wb-Empty">Comparing…</p>;
  }
  return (
    <div className="wb-Diff" data-testid="wb-diff">
      <p>
        {compare.files.length} file{compare.files.length === 1 ? '' : 's'} changed between{' '}
        <code>{compare.base.slice(0, 12)}</code> and <code>{compare.head.slice(0, 12)}</code>
      </p>
      {compare.files.map(f => (
        <FileDiff key={f.path} {...props} compare={compare} file={f} />
      ))}
    </div>
  );
}
