import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ReactWidget } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import React, { useEffect, useState } from 'react';

import { WorkbenchApi } from '../api';
import { binderUrl, describeError, formatAgo, formatCount, splitFrontMatter } from '../model';
import { ICommit, IInterest, IRefs, IRepoInfo, ITreeEntry, RepoType } from '../tokens';
import { ErrorBanner } from './ErrorBanner';
import { DiscussionsTab } from './DiscussionsTab';
import { EvalTab } from './EvalTab';
import { FilesTab } from './FilesTab';
import { HistoryTab } from './HistoryTab';
import { Markdown } from './Markdown';
import { PaperTab } from './PaperTab';
import { RefsTab } from './RefsTab';
import { ViewerTab } from './ViewerTab';

export interface IRepoPageOptions {
  api: WorkbenchApi;
  rendermime: IRenderMimeRegistry;
  type: RepoType;
  id: string;
  onOpen: (type: RepoType, id: string) => void;
  onInsertLoadCode: (type: RepoType, id: string, commit: string) => void;
  onAddToCollection?: (type: RepoType, id: string) => void;
  /** Open on this discussion or pull request (a deep link's `/pr/N`). */
  discussion?: number;
  /** Copy a link to this page (or to the discussion shown) that opens it in any lab. */
  onCopyLink?: (type: RepoType, id: string) => void;
}

/** Like and Watch, as the caller stands: both toggle on the hub. */
function InterestButtons(props: { api: WorkbenchApi; type: RepoType; id: string }): JSX.Element {
  const { api, type, id } = props;
  const [state, setState] = useState<IInterest | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api
      .interest(type, id)
      .then(setState)
      .catch(reason => setError(describeError(reason).message));
  }, [type, id]);
  const act = (change: Promise<unknown>) =>
    change
      .then(() => api.interest(type, id))
      .then(s => {
        setState(s);
        setError(null);
      })
      .catch(reason => setError(describeError(reason).message));
  if (!state) {
    return <></>;
  }
  return (
    <>
      <button
        className={`jp-mod-styled wb-Interest${state.liked ? ' wb-mod-on' : ''}`}
        data-testid="wb-like"
        aria-pressed={state.liked}
        title={state.liked ? 'Unlike this repo' : 'Like this repo'}
        onClick={() => void act(state.liked ? api.unlike(type, id) : api.like(type, id))}
      >
        {state.liked ? '♥' : '♡'}{' '}
        <span data-testid="wb-like-count">{formatCount(state.likes)}</span>
      </button>
      <button
        className={`jp-mod-styled wb-Interest${state.watching ? ' wb-mod-on' : ''}`}
        data-testid="wb-watch"
        aria-pressed={state.watching}
        title={
          state.watching
            ? 'Stop watching: new discussions and comments no longer reach your inbox'
            : 'Watch: new discussions and comments reach your inbox'
        }
        onClick={() => void act(api.setWatch(type, id, !state.watching))}
      >
        {state.watching ? 'Watching' : 'Watch'}
      </button>
      {error && (
        <span className="wb-Interest-error" role="alert">
          {error}
        </span>
      )}
    </>
  );
}

type Tab = 'card' | 'paper' | 'files' | 'history' | 'refs' | 'viewer' | 'evals' | 'discussions';
const RETRY_MS = 3000;

interface IData {
  info: IRepoInfo;
  readme: string | null;
  tree: ITreeEntry[];
  commits: ICommit[];
  refs: IRefs;
}

function linkedDatasets(card: Record<string, unknown> | null | undefined): string[] {
  const value = card?.datasets;
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function RepoView(props: IRepoPageOptions): JSX.Element {
  const { api, type, id } = props;
  const [revision, setRevision] = useState<string | undefined>(undefined);
  const [data, setData] = useState<IData | null>(null);
  const [error, setError] = useState<{ message: string; hubDown: boolean } | null>(null);
  const [tab, setTab] = useState<Tab>(
    props.discussion !== undefined ? 'discussions' : type === 'paper' ? 'paper' : 'card'
  );
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    let cancelled = false;
    let timer: number | undefined;
    (async () => {
      const info = await api.repoInfo(type, id, revision);
      const [readme, tree, commits, refs] = await Promise.all([
        api.fileText(type, id, info.sha, 'README.md'),
        api.tree(type, id, info.sha),
        api.commits(type, id, info.sha),
        api.refs(type, id)
      ]);
      return { info, readme, tree, commits, refs };
    })()
      .then(loaded => {
        if (!cancelled) {
          setData(loaded);
          setError(null);
        }
      })
      .catch(reason => {
        if (cancelled) {
          return;
        }
        const described = describeError(reason);
        setError(described);
        if (described.hubDown) {
          timer = window.setTimeout(() => setAttempt(a => a + 1), RETRY_MS);
        }
      });
    return () => {
      cancelled = true;
      window.clearTimeout(timer);
    };
  }, [type, id, revision, attempt]);

  const tabs: [Tab, string][] = [
    ...(type === 'paper' ? ([['paper', 'Paper']] as [Tab, string][]) : []),
    ['card', 'Card'],
    ['files', 'Files'],
    ['history', 'History'],
    ['refs', 'Branches & tags'],
    ...(type === 'dataset' ? ([['viewer', 'Data']] as [Tab, string][]) : []),
    ...(type === 'model' || type === 'dataset'
      ? ([['evals', 'Evaluations']] as [Tab, string][])
      : []),
    ['discussions', 'Discussions']
  ];
  const card = data ? splitFrontMatter(data.readme ?? '').body : '';
  return (
    <div className="wb-Repo" data-testid="wb-repo" data-repo-id={id}>
      <header className="wb-Repo-header">
        <h1>
          <span className={`wb-Badge wb-Badge-${type}`}>{type}</span> {id}
        </h1>
        {data && (
          <div className="wb-Repo-meta">
            <span>
              at <code data-testid="wb-commit">{data.info.sha}</code>
            </span>
            <InterestButtons api={api} type={type} id={id} />
            <span>⤓ {formatCount(data.info.downloads ?? 0)}</span>
            {data.info.lastModified && <span>updated {formatAgo(data.info.lastModified)}</span>}
            <button
              className="jp-mod-styled jp-mod-accept"
              data-testid="wb-insert-load-code"
              title="Insert a cell that loads this repo, pinned to this commit, into the active notebook"
              onClick={() => props.onInsertLoadCode(type, id, data.info.sha)}
            >
              Insert load code
            </button>
            {props.onAddToCollection && (
              <button
                className="jp-mod-styled"
                data-testid="wb-add-to-collection"
                title="Add this repo to one of your collections"
                onClick={() => props.onAddToCollection?.(type, id)}
              >
                Add to collection…
              </button>
            )}
            {props.onCopyLink && (
              <button
                className="jp-mod-styled"
                data-testid="wb-copy-link"
                title="Copy a link that opens this page in a colleague's JupyterLab"
                onClick={() => props.onCopyLink?.(type, id)}
              >
                Copy link
              </button>
            )}
            {binderUrl(data.info.cardData?.source) && (
              <a
                className="jp-mod-styled wb-Binder"
                data-testid="wb-binder"
                href={binderUrl(data.info.cardData?.source)!}
                target="_blank"
                rel="noopener noreferrer"
              >
                Open in Binder
              </a>
            )}
            {type === 'model' && (
              <button
                className="jp-mod-styled"
                data-testid="wb-evaluate"
                onClick={() => setTab('evals')}
              >
                Evaluate…
              </button>
            )}
          </div>
        )}
      </header>
      {error && <ErrorBanner {...error} onRetry={() => setAttempt(a => a + 1)} />}
      {data && (
        <>
          <nav className="wb-Tabs" role="tablist">
            {tabs.map(([key, label]) => (
              <button
                key={key}
                role="tab"
                aria-selected={tab === key}
                data-testid={`wb-repo-tab-${key}`}
                className={`wb-Tab${tab === key ? ' wb-mod-active' : ''}`}
                onClick={() => setTab(key)}
              >
                {label}
              </button>
            ))}
          </nav>
          <div className="wb-Repo-body">
            {tab === 'card' &&
              (data.readme === null ? (
                <p className="wb-Empty">This repo has no card (README.md).</p>
              ) : (
                <Markdown rendermime={props.rendermime} source={card} testId="wb-card" />
              ))}
            {tab === 'paper' && (
              <PaperTab
                api={api}
                rendermime={props.rendermime}
                id={id}
                card={data.info.cardData ?? {}}
                onOpen={props.onOpen}
              />
            )}
            {tab === 'files' && <FilesTab entries={data.tree} />}
            {tab === 'history' && (
              <HistoryTab
                api={api}
                rendermime={props.rendermime}
                type={type}
                id={id}
                commits={data.commits}
                onShowCommit={setRevision}
              />
            )}
            {tab === 'refs' && (
              <RefsTab refs={data.refs} onSelect={r => setRevision(r.targetCommit)} />
            )}
            {tab === 'viewer' && <ViewerTab api={api} id={id} />}
            {tab === 'discussions' && (
              <DiscussionsTab
                api={api}
                rendermime={props.rendermime}
                type={type}
                id={id}
                initial={props.discussion}
              />
            )}
            {tab === 'evals' && (
              <EvalTab
                api={api}
                type={type}
                id={id}
                commit={data.info.sha}
                linkedDatasets={linkedDatasets(data.info.cardData)}
              />
            )}
          </div>
        </>
      )}
      {!data && !error && <p className="wb-Empty">Loading {id}…</p>}
    </div>
  );
}

/** A repo page in the main area. */
export class RepoPage extends ReactWidget {
  constructor(private readonly options: IRepoPageOptions) {
    super();
    this.id = `wb-repo-${options.type}-${options.id.replace(/[^A-Za-z0-9_-]/g, '-')}`;
    this.title.label = options.id;
    this.title.caption = `${options.type} ${options.id}`;
    this.title.closable = true;
    this.addClass('wb-RepoPage');
  }

  render(): JSX.Element {
    return <RepoView {...this.options} />;
  }

  // A closed tab only detaches its widget; dispose it so that opening the repo again
  // builds a fresh page instead of activating one that is no longer in the shell.
  protected onCloseRequest(msg: Message): void {
    super.onCloseRequest(msg);
    this.dispose();
  }
}
