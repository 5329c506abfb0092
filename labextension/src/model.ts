/**
 * Front-end models: the sidebar's search state, and the pure functions the views use
 * (URLs, formatting, load code, notebook diffs). No DOM and no network here, so Jest
 * covers them directly.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { ISearchPage, ISearchQuery, ISearchResult, IDeepLink, RepoType } from './tokens';

/** `api/models/ns/name/...`: the hub's API path of a repo. */
export function apiPath(type: RepoType, id: string, ...rest: string[]): string {
  return [`api/${type}s`, id, ...rest].join('/');
}

/** `ns/name/...` for models, `datasets/ns/name/...` for the others (file downloads). */
export function webPath(type: RepoType, id: string, ...rest: string[]): string {
  const prefix = type === 'model' ? [] : [`${type}s`];
  return [...prefix, id, ...rest].join('/');
}

export function searchParams(query: ISearchQuery): string {
  const params = new URLSearchParams();
  params.set('q', query.q.trim());
  if (query.type !== 'all') {
    params.set('type', query.type);
  }
  params.set('sort', query.sort);
  params.set('limit', String(query.limit));
  for (const key of ['task', 'library', 'license', 'author'] as const) {
    const value = query[key].trim();
    if (value) {
      params.set(key, value);
    }
  }
  return params.toString();
}

/** A JSON value as text: a string as it is, anything else as JSON (`3`, `true`, `null`, `{"a":1}`). */
export function jsonText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** 1234 -> "1.2k", 2500000 -> "2.5M". */
export function formatCount(n: number): string {
  if (n < 1000) {
    return String(n);
  }
  if (n < 1_000_000) {
    return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0).replace(/\.0$/, '')}k`;
  }
  return `${(n / 1_000_000).toFixed(1).replace(/\.0$/, '')}M`;
}

export function formatSize(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) {
    return '';
  }
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** "3 minutes ago", "2 days ago", ... relative to `now`. */
export function formatAgo(iso: string | null | undefined, now: Date = new Date()): string {
  if (!iso) {
    return '';
  }
  const then = new Date(iso).getTime();
  if (Number.isNaN(then)) {
    return '';
  }
  const seconds = Math.max(0, Math.round((now.getTime() - then) / 1000));
  const steps: [number, string][] = [
    [60, 'second'],
    [60, 'minute'],
    [24, 'hour'],
    [30, 'day'],
    [12, 'month'],
    [Number.POSITIVE_INFINITY, 'year']
  ];
  let value = seconds;
  for (const [size, name] of steps) {
    if (value < size) {
      if (name === 'second' && value < 10) {
        return 'just now';
      }
      return `${value} ${name}${value === 1 ? '' : 's'} ago`;
    }
    value = Math.floor(value / size);
  }
  return '';
}

/** A card's YAML front matter and its markdown body. */
export function splitFrontMatter(text: string): { meta: string; body: string } {
  const match = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?/.exec(text);
  if (!match) {
    return { meta: '', body: text };
  }
  return { meta: match[1], body: text.slice(match[0].length) };
}

const LOADERS: Record<RepoType, [string, string]> = {
  model: ['model', 'wb.load_model'],
  dataset: ['ds', 'wb.load_dataset'],
  paper: ['paper', 'wb.load_paper'],
  space: ['space', 'wb.info']
};

/** The cell "Insert load code" adds: loads the repo pinned to the commit on screen. */
export function loadCode(type: RepoType, id: string, commit: string): string {
  const [name, loader] = LOADERS[type];
  const repo = JSON.stringify(id);
  const revision = JSON.stringify(commit);
  return `import workbench as wb\n\n${name} = ${loader}(${repo}, revision=${revision})\n${name}`;
}

/** Line diff of two texts (LCS), for text files; each line prefixed ' ', '-' or '+'. */
export function diffLines(oldText: string | null, newText: string | null): string[] {
  const a = oldText ? oldText.split('\n') : [];
  const b = newText ? newText.split('\n') : [];
  if (a.length * b.length > 4_000_000) {
    return [...a.map(l => `-${l}`), ...b.map(l => `+${l}`)];
  }
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () =>
    new Array<number>(b.length + 1).fill(0)
  );
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      out.push(` ${a[i]}`);
      i++;
      j++;
    } else if (j < b.length && (i >= a.length || lcs[i][j + 1] > lcs[i + 1][j])) {
      out.push(`+${b[j]}`);
      j++;
    } else {
      out.push(`-${a[i]}`);
      i++;
    }
  }
  return out;
}

/** What to tell a person when a request failed; `hubDown` errors get a recovery promise. */
export function describeError(error: unknown): { message: string; hubDown: boolean } {
  const e = error as { message?: unknown; status?: unknown; unavailable?: unknown };
  const status = typeof e?.status === 'number' ? e.status : -1;
  const hubDown = e?.unavailable === true || status === 0 || status === 502 || status === 503;
  const detail = typeof e?.message === 'string' ? e.message : String(error);
  if (hubDown) {
    return {
      message: `The Workbench hub is not answering. ${detail} This panel retries on its own and recovers when the hub is back.`,
      hubDown
    };
  }
  return { message: detail, hubDown };
}

export type SearchFetcher = (query: ISearchQuery) => Promise<ISearchPage>;

export const DEFAULT_QUERY: ISearchQuery = {
  q: '',
  type: 'all',
  sort: 'relevance',
  task: '',
  library: '',
  license: '',
  author: '',
  limit: 20
};

/**
 * The sidebar's search state. Answers that arrive after a newer query was sent are
 * dropped, so fast typing never shows stale results.
 */
export class SearchModel {
  constructor(private readonly fetcher: SearchFetcher) {}

  get query(): ISearchQuery {
    return this._query;
  }
  get results(): ISearchResult[] {
    return this._results;
  }
  get total(): number {
    return this._total;
  }
  /** False: `total` is a lower bound. */
  get totalExact(): boolean {
    return this._totalExact;
  }
  /** The query text the shown results answer (lags `query.q` while a search runs). */
  get shownQuery(): string {
    return this._shownQuery;
  }
  get error(): { message: string; hubDown: boolean } | null {
    return this._error;
  }
  get loading(): boolean {
    return this._loading;
  }
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Change part of the query and search again. */
  update(change: Partial<ISearchQuery>): Promise<void> {
    this._query = { ...this._query, ...change };
    return this.refresh();
  }

  async refresh(): Promise<void> {
    const seq = ++this._seq;
    this._loading = true;
    this._changed.emit();
    try {
      const page = await this.fetcher(this._query);
      if (seq !== this._seq) {
        return;
      }
      this._results = page.results;
      this._total = page.total;
      this._totalExact = page.totalExact ?? true;
      this._shownQuery = page.query;
      this._error = null;
    } catch (reason) {
      if (seq !== this._seq) {
        return;
      }
      this._error = describeError(reason);
    }
    this._loading = false;
    this._changed.emit();
  }

  private _query: ISearchQuery = { ...DEFAULT_QUERY };
  private _results: ISearchResult[] = [];
  private _total = 0;
  private _totalExact = true;
  private _shownQuery = '';
  private _error: { message: string; hubDown: boolean } | null = null;
  private _loading = false;
  private _seq = 0;
  private _changed = new Signal<this, void>(this);
}

const SEGMENT = /^[A-Za-z0-9._-]+$/;

/**
 * The mybinder.org URL for a card's `source` ({repo, ref, path}: where a published notebook
 * lives on a Git host), or null when it does not name an https repository on a Git host.
 * Mirrors workbench.binder.binder_url.
 */
export function binderUrl(source: unknown): string | null {
  const s = source as { repo?: unknown; ref?: unknown; path?: unknown } | null;
  if (!s || typeof s.repo !== 'string') {
    return null;
  }
  let url: URL;
  try {
    url = new URL(s.repo);
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' || url.search || url.hash) {
    return null;
  }
  const segments = url.pathname.split('/').filter(Boolean);
  if (segments.length && segments[segments.length - 1].endsWith('.git')) {
    segments[segments.length - 1] = segments[segments.length - 1].slice(0, -4);
  }
  if (segments.length < 2 || !segments.every(p => SEGMENT.test(p) && p !== '.' && p !== '..')) {
    return null;
  }
  const ref = typeof s.ref === 'string' && s.ref ? s.ref : 'main';
  if (/[\s~^:?*[\\]|\.\./.test(ref)) {
    return null;
  }
  const host = url.hostname.toLowerCase();
  let spec: string;
  if (host === 'github.com' || host === 'www.github.com') {
    if (segments.length !== 2) {
      return null;
    }
    spec = `gh/${segments[0]}/${segments[1]}/${encodeURIComponent(ref)}`;
  } else if (host === 'gitlab.com' || host === 'www.gitlab.com') {
    spec = `gl/${encodeURIComponent(segments.join('/'))}/${encodeURIComponent(ref)}`;
  } else {
    spec = `git/${encodeURIComponent(`https://${host}/${segments.join('/')}`)}/${encodeURIComponent(ref)}`;
  }
  const path = typeof s.path === 'string' ? s.path : '';
  const safePath =
    path && !path.startsWith('/') && !path.split('/').some(p => p === '..' || p === '.');
  const target = safePath ? `lab/tree/${path}` : 'lab';
  return `https://mybinder.org/v2/${spec}?urlpath=${encodeURI(target)}`;
}

const LINK_TYPES: Record<string, RepoType> = {
  model: 'model',
  models: 'model',
  dataset: 'dataset',
  datasets: 'dataset',
  paper: 'paper',
  papers: 'paper',
  space: 'space',
  spaces: 'space'
};

/**
 * Read a deep link's target, `{type}/{namespace}/{name}[/pr/N]` (as `/lab/workbench/...`
 * carries it); null when it names nothing openable.
 */
export function parseDeepLink(target: string): IDeepLink | null {
  const m =
    /^\/*([a-z]+)\/([A-Za-z0-9][\w.-]*)\/([A-Za-z0-9][\w.-]*)(?:\/(?:pr|discussions)\/(\d+))?\/*$/.exec(
      target
    );
  const type = m ? LINK_TYPES[m[1]] : undefined;
  if (!m || !type) {
    return null;
  }
  const link: IDeepLink = { type, id: `${m[2]}/${m[3]}` };
  if (m[4]) {
    link.discussion = Number(m[4]);
  }
  return link;
}

/** The link that opens `link` in any colleague's lab on this server (`baseUrl` ends with `/`). */
export function deepLinkUrl(baseUrl: string, link: IDeepLink): string {
  const pr = link.discussion !== undefined ? `/pr/${link.discussion}` : '';
  return `${baseUrl}lab/workbench/${link.type}/${link.id}${pr}`;
}
