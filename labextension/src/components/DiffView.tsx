import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import React, { useEffect, useState } from 'react';

import { WorkbenchApi } from '../api';
import { describeError, diffLines, formatSize } from '../model';
import { ICompare, ICompareFile, IReviewAnchor, RepoType } from '../tokens';
import { ErrorBanner } from './ErrorBanner';
import { NbdimeDiff } from './NbdimeDiff';

const TEXT = /\.(md|txt|py|json|ya?ml|csv|tsv|toml|cfg|ini|jsonl|js|ts|r|sh|tex|bib)$/i;
const MAX_TEXT = 512 * 1024;
const IGNORE_OUTPUTS = 'workbench:diff-ignore-outputs';
const IGNORE_METADATA = 'workbench:diff-ignore-metadata';
const HIDE_UNCHANGED = 'workbench:diff-hide-unchanged';

function stored(key: string, fallback = false): boolean {
  try {
    const value = window.localStorage.getItem(key);
    return value === null ? fallback : value === 'true';
  } catch {
    return fallback;
  }
}

function store(key: string, value: boolean): void {
  try {
    window.localStorage.setItem(key, String(value));
  } catch {
    // storage refused (private mode): the toggle still works for this view
  }
}

/** A checkbox whose value is kept in the browser (`name` is its key and test id). */
function Toggle(props: {
  name: string;
  label: string;
  value: boolean;
  onChange: (value: boolean) => void;
}): JSX.Element {
  return (
    <label>
      <input
        type="checkbox"
        data-testid={props.name.replace('workbench:', 'wb-')}
        checked={props.value}
        onChange={e => {
          store(props.name, e.target.checked);
          props.onChange(e.target.checked);
        }}
      />{' '}
      {props.label}
    </label>
  );
}

function FileDiff(props: {
  api: WorkbenchApi;
  rendermime: IRenderMimeRegistry;
  type: RepoType;
  id: string;
  compare: ICompare;
  file: ICompareFile;
  hideUnchanged: boolean;
  onComment?: (anchor: IReviewAnchor) => void;
}): JSX.Element {
  const { api, type, id, compare, file } = props;
  const [body, setBody] = useState<JSX.Element | null>(null);
  const structured = file.structured;
  useEffect(() => {
    if (structured?.kind === 'notebook' && structured.nbdime) {
      setBody(null);
      return;
    }
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
        const notice = notebook
          ? (structured?.notice ?? 'Shown as text: the hub could not read it as a notebook.')
          : null;
        setBody(
          <>
            {notice && (
              <p className="wb-Empty" data-testid="wb-diff-notice">
                {notice}
              </p>
            )}
            <pre className="wb-LineDiff">{diffLines(before, after).join('\n')}</pre>
          </>
        );
      })
      .catch(reason => setBody(<ErrorBanner {...describeError(reason)} />));
  }, [compare, file.path]);
  return (
    <section className="wb-FileDiff" data-path={file.path}>
      <h4>
        <span className={`wb-Status wb-Status-${file.status}`}>{file.status}</span> {file.path}
      </h4>
      {structured?.kind === 'notebook' && structured.nbdime ? (
        <>
          <p className="wb-Empty" data-testid="wb-nb-summary">
            {Object.entries(structured.summary ?? {})
              .map(([change, n]) => `${n} ${change}`)
              .join(', ')}{' '}
            cell(s)
          </p>
          <NbdimeDiff
            rendermime={props.rendermime}
            path={file.path}
            diff={structured.nbdime}
            hideUnchanged={props.hideUnchanged}
            onComment={props.onComment}
          />
        </>
      ) : (
        (body ?? <p className="wb-Empty">Loading…</p>)
      )}
    </section>
  );
}

/** What changed between two commits, file by file; notebooks by nbdime's own diff widget
 * (the hub's nbdime diff), with their outputs side by side. */
export function DiffView(props: {
  api: WorkbenchApi;
  rendermime: IRenderMimeRegistry;
  type: RepoType;
  id: string;
  base: string;
  head: string;
  /** In a pull request: comment on a cell of the diff. */
  onComment?: (anchor: IReviewAnchor) => void;
}): JSX.Element {
  const [compare, setCompare] = useState<ICompare | null>(null);
  const [error, setError] = useState<{ message: string; hubDown: boolean } | null>(null);
  const [ignoreOutputs, setIgnoreOutputs] = useState(stored(IGNORE_OUTPUTS));
  const [ignoreMetadata, setIgnoreMetadata] = useState(stored(IGNORE_METADATA));
  const [hideUnchanged, setHideUnchanged] = useState(stored(HIDE_UNCHANGED, true));
  useEffect(() => {
    setCompare(null);
    props.api
      .compare(props.type, props.id, props.base, props.head, {
        structured: true,
        ignoreOutputs,
        ignoreMetadata
      })
      .then(setCompare)
      .catch(reason => setError(describeError(reason)));
  }, [props.base, props.head, ignoreOutputs, ignoreMetadata]);
  if (error) {
    return <ErrorBanner {...error} />;
  }
  const settings: [string, string, boolean, (value: boolean) => void][] = [
    [IGNORE_OUTPUTS, 'Ignore outputs', ignoreOutputs, setIgnoreOutputs],
    [IGNORE_METADATA, 'Ignore metadata', ignoreMetadata, setIgnoreMetadata],
    [HIDE_UNCHANGED, 'Hide unchanged cells', hideUnchanged, setHideUnchanged]
  ];
  const toggles = (
    <div className="wb-Diff-toggles">
      {settings.map(([name, label, value, onChange]) => (
        <Toggle key={name} name={name} label={label} value={value} onChange={onChange} />
      ))}
    </div>
  );
  if (!compare) {
    return (
      <>
        {toggles}
        <p className="wb-Empty">Comparing…</p>
      </>
    );
  }
  return (
    <div className="wb-Diff" data-testid="wb-diff">
      <p>
        {compare.files.length} file{compare.files.length === 1 ? '' : 's'} changed between{' '}
        <code>{compare.base.slice(0, 12)}</code> and <code>{compare.head.slice(0, 12)}</code>
      </p>
      {toggles}
      {compare.files.map(f => (
        <FileDiff
          key={f.path}
          {...props}
          compare={compare}
          file={f}
          hideUnchanged={hideUnchanged}
        />
      ))}
    </div>
  );
}
