import { IRenderMimeRegistry, MimeModel } from '@jupyterlab/rendermime';
import React, { useEffect, useRef, useState } from 'react';

import { WorkbenchApi } from '../api';
import { describeError, diffLines, formatSize } from '../model';
import {
  ICompare,
  ICompareFile,
  INotebookCellDiff,
  INotebookOutput,
  IReviewAnchor,
  IStructuredDiff,
  RepoType
} from '../tokens';
import { ErrorBanner } from './ErrorBanner';

const TEXT = /\.(md|txt|py|json|ya?ml|csv|tsv|toml|cfg|ini|jsonl|js|ts|r|sh|tex|bib)$/i;
const MAX_TEXT = 512 * 1024;
const IGNORE_OUTPUTS = 'workbench:diff-ignore-outputs';
const IGNORE_METADATA = 'workbench:diff-ignore-metadata';

function stored(key: string): boolean {
  try {
    return window.localStorage.getItem(key) === 'true';
  } catch {
    return false;
  }
}

function store(key: string, value: boolean): void {
  try {
    window.localStorage.setItem(key, String(value));
  } catch {
    // storage refused (private mode): the toggle still works for this view
  }
}

/** HTML the hub already sanitized, rendered again as untrusted by JupyterLab's sanitizer. */
function SafeHtml(props: { rendermime: IRenderMimeRegistry; html: string }): JSX.Element {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const renderer = props.rendermime.createRenderer('text/html');
    void renderer.renderModel(new MimeModel({ data: { 'text/html': props.html }, trusted: false }));
    host.current?.replaceChildren(renderer.node);
    return () => renderer.dispose();
  }, [props.html]);
  return <div ref={host} className="wb-Output-html" />;
}

function Output(props: { rendermime: IRenderMimeRegistry; output: INotebookOutput }): JSX.Element {
  const o = props.output;
  if (o.outputType === 'stream') {
    return <pre className="wb-Output-stream">{o.text}</pre>;
  }
  if (o.outputType === 'error') {
    return (
      <pre className="wb-Output-error">
        {o.ename}: {o.evalue}
      </pre>
    );
  }
  const data = o.data ?? {};
  for (const mime of ['image/png', 'image/jpeg', 'image/gif']) {
    if (data[mime]) {
      return <img className="wb-Output-image" src={`data:${mime};base64,${data[mime]}`} alt="" />;
    }
  }
  if (data['text/html']) {
    return <SafeHtml rendermime={props.rendermime} html={data['text/html']} />;
  }
  const text =
    data['text/plain'] ??
    (data['application/json'] ? JSON.stringify(data['application/json']) : '');
  return (
    <pre className="wb-Output-text">
      {text}
      {o.omitted?.length ? `\n(not shown: ${o.omitted.join(', ')})` : ''}
    </pre>
  );
}

function Outputs(props: { rendermime: IRenderMimeRegistry; outputs?: INotebookOutput[] }) {
  return (
    <div className="wb-Outputs">
      {(props.outputs ?? []).length === 0 ? (
        <span className="wb-Empty">no output</span>
      ) : (
        (props.outputs ?? []).map((o, i) => (
          <Output key={i} rendermime={props.rendermime} output={o} />
        ))
      )}
    </div>
  );
}

/** One cell of nbdime's diff: its source change and its outputs, old beside new. */
function NotebookCell(props: {
  rendermime: IRenderMimeRegistry;
  cell: INotebookCellDiff;
  onComment?: (side: 'old' | 'new', cell: number) => void;
}): JSX.Element {
  const { cell } = props;
  const { source, outputs } = cell;
  const where =
    cell.change === 'moved'
      ? `#${cell.oldIndex} → #${cell.newIndex}`
      : `#${cell.newIndex ?? cell.oldIndex}`;
  const side: 'old' | 'new' = cell.newIndex !== null ? 'new' : 'old';
  const index = (side === 'new' ? cell.newIndex : cell.oldIndex) ?? 0;
  return (
    <div
      className={`wb-Cell wb-Cell-${cell.change}`}
      data-kind={cell.change}
      data-testid="wb-nb-cell"
      data-index={index}
    >
      <div className="wb-Cell-head">
        {cell.cellType ?? 'code'} cell {where} · {cell.change}
        {props.onComment && (
          <button
            className="jp-mod-styled wb-Cell-comment"
            data-testid="wb-nb-cell-comment"
            title="Comment on this cell in the review"
            onClick={() => props.onComment?.(side, index)}
          >
            Comment
          </button>
        )}
      </div>
      {source &&
        (source.old !== undefined && source.new !== undefined ? (
          <pre data-testid="wb-nb-source">
            {diffLines(source.old ?? null, source.new ?? null).join('\n')}
          </pre>
        ) : (
          <pre data-testid="wb-nb-source">{source.new ?? source.old}</pre>
        ))}
      {outputs && (
        <div className="wb-Outputs-sides" data-testid="wb-nb-outputs">
          <Outputs rendermime={props.rendermime} outputs={outputs.old} />
          <Outputs rendermime={props.rendermime} outputs={outputs.new} />
        </div>
      )}
    </div>
  );
}

function NotebookDiff(props: {
  rendermime: IRenderMimeRegistry;
  diff: IStructuredDiff;
  onComment?: (side: 'old' | 'new', cell: number) => void;
}): JSX.Element {
  const cells = props.diff.cells ?? [];
  return (
    <div className="wb-CellDiff" data-testid="wb-cell-diff">
      {cells.length === 0 && <p className="wb-Empty">No cell differs (with these settings).</p>}
      {cells.map((c, i) => (
        <NotebookCell key={i} rendermime={props.rendermime} cell={c} onComment={props.onComment} />
      ))}
    </div>
  );
}

function FileDiff(props: {
  api: WorkbenchApi;
  rendermime: IRenderMimeRegistry;
  type: RepoType;
  id: string;
  compare: ICompare;
  file: ICompareFile;
  onComment?: (anchor: IReviewAnchor) => void;
}): JSX.Element {
  const { api, type, id, compare, file } = props;
  const [body, setBody] = useState<JSX.Element | null>(null);
  useEffect(() => {
    const structured = file.structured;
    if (structured?.kind === 'notebook') {
      const onComment = props.onComment;
      setBody(
        <NotebookDiff
          rendermime={props.rendermime}
          diff={structured}
          onComment={
            onComment
              ? (side, cell) => onComment({ path: file.path, side, cell, part: 'source' })
              : undefined
          }
        />
      );
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
      {body ?? <p className="wb-Empty">Loading…</p>}
    </section>
  );
}

/** What changed between two commits, file by file; notebooks by cell, as nbdime diffs them
 * on the hub, with their outputs side by side. */
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
  const toggles = (
    <div className="wb-Diff-toggles">
      <label>
        <input
          type="checkbox"
          data-testid="wb-diff-ignore-outputs"
          checked={ignoreOutputs}
          onChange={e => {
            store(IGNORE_OUTPUTS, e.target.checked);
            setIgnoreOutputs(e.target.checked);
          }}
        />{' '}
        Ignore outputs
      </label>{' '}
      <label>
        <input
          type="checkbox"
          data-testid="wb-diff-ignore-metadata"
          checked={ignoreMetadata}
          onChange={e => {
            store(IGNORE_METADATA, e.target.checked);
            setIgnoreMetadata(e.target.checked);
          }}
        />{' '}
        Ignore metadata
      </label>
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
        <FileDiff key={f.path} {...props} compare={compare} file={f} />
      ))}
    </div>
  );
}
