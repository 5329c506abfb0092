/**
 * The only module that calls the server: the Workbench server extension's `/workbench/*`
 * endpoints, and the hub through its proxy (which adds the hub token server-side).
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { apiPath, searchParams, webPath } from './model';
import {
  ICollection,
  ICommit,
  ICompare,
  IAnchor,
  IColumnStatistics,
  IDiscussion,
  IDiscussionDetails,
  IFileComments,
  IEvalJob,
  IEvalJobRequest,
  IEvalRecord,
  IEvalRequest,
  IEvalRun,
  IRunner,
  ILeaderboard,
  IUiRun,
  IHubStatus,
  IRefs,
  IPaperCitations,
  IRepoInfo,
  IRowsPage,
  ISearchPage,
  ISearchQuery,
  ISplit,
  ITreeEntry,
  IWhoami,
  IAccessRequest,
  IInterest,
  INotification,
  IPublishTask,
  IReviewAnchor,
  IReviews,
  IReviewThread,
  IMember,
  IOrganization,
  IToken,
  ITokenRequest,
  RepoType
} from './tokens';

/** An answer that is not a success, in words a person can act on. */
export class HubError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string
  ) {
    super(message);
    this.name = 'HubError';
  }

  /** True when the hub itself is unreachable (down, or the proxy cannot reach it). */
  get unavailable(): boolean {
    return this.status === 0 || this.status === 502 || this.status === 503 || this.status === 504;
  }
}

async function errorFrom(response: Response): Promise<HubError> {
  const code = response.headers.get('X-Error-Code') ?? '';
  let message = response.headers.get('X-Error-Message') ?? '';
  if (!message) {
    try {
      const body = (await response.json()) as { error?: unknown; message?: unknown };
      const err = body.error;
      if (typeof err === 'string') {
        message = err;
      } else if (err && typeof err === 'object' && 'message' in err) {
        message = String(err.message);
      } else if (typeof body.message === 'string') {
        message = body.message;
      }
    } catch {
      // not JSON: fall back to the status line
    }
  }
  if (!message) {
    message = `The hub answered ${response.status} ${response.statusText}.`;
  }
  return new HubError(message, response.status, code);
}

export class WorkbenchApi {
  constructor(readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()) {}

  private async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const url = URLExt.join(this.settings.baseUrl, 'workbench', path);
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, init, this.settings);
    } catch {
      throw new HubError(
        'JupyterLab cannot reach its server. Check that JupyterLab is still running.',
        0,
        'NetworkError'
      );
    }
    if (!response.ok) {
      throw await errorFrom(response);
    }
    return response;
  }

  private async json<T>(path: string, init: RequestInit = {}): Promise<T> {
    return (await (await this.fetch(path, init)).json()) as T;
  }

  /** GET through the hub proxy. */
  hub<T>(path: string): Promise<T> {
    return this.json<T>(URLExt.join('hub', path));
  }

  status(): Promise<IHubStatus> {
    return this.json<IHubStatus>('status');
  }

  useHub(hubUrl: string): Promise<IHubStatus> {
    return this.json<IHubStatus>('connection', {
      method: 'PUT',
      body: JSON.stringify({ hubUrl })
    });
  }

  search(query: ISearchQuery): Promise<ISearchPage> {
    return this.hub<ISearchPage>(`api/search?${searchParams(query)}`);
  }

  repoInfo(type: RepoType, id: string, revision?: string): Promise<IRepoInfo> {
    const rest = revision ? ['revision', encodeURIComponent(revision)] : [];
    return this.hub<IRepoInfo>(apiPath(type, id, ...rest));
  }

  tree(type: RepoType, id: string, revision: string): Promise<ITreeEntry[]> {
    return this.hub<ITreeEntry[]>(
      `${apiPath(type, id, 'tree', encodeURIComponent(revision))}?recursive=true&expand=false`
    );
  }

  commits(type: RepoType, id: string, revision: string): Promise<ICommit[]> {
    return this.hub<ICommit[]>(apiPath(type, id, 'commits', encodeURIComponent(revision)));
  }

  refs(type: RepoType, id: string): Promise<IRefs> {
    return this.hub<IRefs>(apiPath(type, id, 'refs'));
  }

  compare(
    type: RepoType,
    id: string,
    base: string,
    head: string,
    options: { structured?: boolean; ignoreOutputs?: boolean; ignoreMetadata?: boolean } = {}
  ): Promise<ICompare> {
    const params = new URLSearchParams();
    if (options.structured) {
      params.set('structured', '1');
    }
    if (options.ignoreOutputs) {
      params.set('ignore_outputs', '1');
    }
    if (options.ignoreMetadata) {
      params.set('ignore_metadata', '1');
    }
    const query = params.toString() ? `?${params}` : '';
    return this.hub<ICompare>(
      apiPath(type, id, 'compare', encodeURIComponent(base), encodeURIComponent(head)) + query
    );
  }

  // -- pull request reviews -----------------------------------------------------------------

  reviews(type: RepoType, id: string, num: number): Promise<IReviews> {
    return this.hub<IReviews>(apiPath(type, id, 'discussions', String(num), 'reviews'));
  }

  review(
    type: RepoType,
    id: string,
    num: number,
    state: 'comment' | 'approve' | 'request_changes',
    summary: string
  ): Promise<unknown> {
    return this.hubPost(apiPath(type, id, 'discussions', String(num), 'reviews'), {
      state,
      summary
    });
  }

  async reviewThreads(type: RepoType, id: string, num: number): Promise<IReviewThread[]> {
    const answer = await this.hub<{ threads: IReviewThread[] }>(
      apiPath(type, id, 'discussions', String(num), 'review-comments')
    );
    return answer.threads;
  }

  reviewComment(
    type: RepoType,
    id: string,
    num: number,
    body: { anchor?: IReviewAnchor; inReplyTo?: string; body: string }
  ): Promise<unknown> {
    return this.hubPost(apiPath(type, id, 'discussions', String(num), 'review-comments'), body);
  }

  resolveThread(
    type: RepoType,
    id: string,
    num: number,
    thread: string,
    resolved: boolean
  ): Promise<unknown> {
    return this.hubPost(
      apiPath(type, id, 'discussions', String(num), 'review-comments', thread, 'resolve'),
      { resolved }
    );
  }

  /** A file's text at a commit, or null when it does not exist there. */
  async fileText(
    type: RepoType,
    id: string,
    revision: string,
    path: string
  ): Promise<string | null> {
    const encoded = path.split('/').map(encodeURIComponent).join('/');
    try {
      const response = await this.fetch(
        URLExt.join('hub', webPath(type, id, 'resolve', encodeURIComponent(revision), encoded))
      );
      return await response.text();
    } catch (reason) {
      if (reason instanceof HubError && reason.status === 404) {
        return null;
      }
      throw reason;
    }
  }

  /** The repos whose cards cite paper `id` (and the papers its own card cites). */
  paperCitations(id: string): Promise<IPaperCitations> {
    return this.hub<IPaperCitations>(apiPath('paper', id, 'papers'));
  }

  splits(id: string): Promise<{ splits: ISplit[] }> {
    return this.hub(`${apiPath('dataset', id, 'viewer', 'splits')}`);
  }

  rows(
    id: string,
    split: ISplit,
    options: { offset: number; length: number; search?: string; where?: string; orderby?: string }
  ): Promise<IRowsPage> {
    const params = new URLSearchParams({
      config: split.config,
      split: split.split,
      offset: String(options.offset),
      length: String(options.length)
    });
    let endpoint = 'rows';
    if (options.search) {
      endpoint = 'search';
      params.set('query', options.search);
    } else if (options.where || options.orderby) {
      endpoint = 'filter';
      if (options.where) {
        params.set('where', options.where);
      }
      if (options.orderby) {
        params.set('orderby', options.orderby);
      }
    }
    return this.hub<IRowsPage>(`${apiPath('dataset', id, 'viewer', endpoint)}?${params}`);
  }

  statistics(id: string, split: ISplit): Promise<{ statistics: IColumnStatistics[] }> {
    const params = new URLSearchParams({ config: split.config, split: split.split });
    return this.hub(`${apiPath('dataset', id, 'viewer', 'statistics')}?${params}`);
  }

  startEvaluation(request: IEvalRequest): Promise<IUiRun> {
    return this.json<IUiRun>('evals', { method: 'POST', body: JSON.stringify(request) });
  }

  evaluation(id: string, since: number): Promise<IUiRun> {
    return this.json<IUiRun>(`evals/${encodeURIComponent(id)}?since=${since}`);
  }

  evalRuns(filter: { model?: string; dataset?: string }): Promise<IEvalRun[]> {
    const params = new URLSearchParams({ limit: '50' });
    for (const [k, v] of Object.entries(filter)) {
      if (v) {
        params.set(k, v);
      }
    }
    return this.hub<IEvalRun[]>(`api/evals?${params}`);
  }

  leaderboard(dataset: string, metric: string, split: string): Promise<ILeaderboard> {
    const params = new URLSearchParams({ metric, split });
    return this.hub<ILeaderboard>(`api/leaderboards/${dataset}?${params}`);
  }

  // -- runners and evaluation jobs on the hub --------------------------------------------------

  /** How many runners with all of `requires` among their labels are online. */
  async runnersOnline(requires: string[] = []): Promise<number> {
    const params = new URLSearchParams({ requires: requires.join(',') });
    return (await this.hub<{ online: number }>(`api/runners/online?${params}`)).online;
  }

  /** Every registered runner (hub admins). */
  runners(): Promise<IRunner[]> {
    return this.hub<IRunner[]>('api/runners');
  }

  setRunnerPaused(name: string, paused: boolean): Promise<IRunner> {
    return this.hubPost(
      `api/runners/${encodeURIComponent(name)}/${paused ? 'pause' : 'resume'}`,
      {}
    );
  }

  removeRunner(name: string): Promise<unknown> {
    return this.hubSend('DELETE', `api/runners/${encodeURIComponent(name)}`);
  }

  queueEvalJob(request: IEvalJobRequest): Promise<IEvalJob> {
    return this.hubPost<IEvalJob>('api/eval-jobs', request);
  }

  /** The user's jobs, newest first. */
  evalJobs(): Promise<IEvalJob[]> {
    return this.hub<IEvalJob[]>('api/eval-jobs?limit=50');
  }

  /** One job, with its progress events after event `after`. */
  evalJob(id: number, after: number): Promise<IEvalJob> {
    return this.hub<IEvalJob>(`api/eval-jobs/${id}?after=${after}`);
  }

  cancelEvalJob(id: number): Promise<IEvalJob> {
    return this.hubPost<IEvalJob>(`api/eval-jobs/${id}/cancel`, {});
  }

  /** A stored run record (`/api/evals/{id}`). */
  evalRecord(id: string): Promise<IEvalRecord> {
    return this.hub<IEvalRecord>(`api/evals/${encodeURIComponent(id)}`);
  }

  private hubPost<T>(path: string, body: unknown): Promise<T> {
    return this.json<T>(URLExt.join('hub', path), { method: 'POST', body: JSON.stringify(body) });
  }

  discussions(
    type: RepoType,
    id: string,
    kind = 'discussion',
    status = 'open'
  ): Promise<{ discussions: IDiscussion[] }> {
    return this.hub(
      `${apiPath(type, id, 'discussions')}?${new URLSearchParams({ type: kind, status })}`
    );
  }

  discussion(type: RepoType, id: string, num: number): Promise<IDiscussionDetails> {
    return this.hub(apiPath(type, id, 'discussions', String(num)));
  }

  createDiscussion(
    type: RepoType,
    id: string,
    body: { title: string; description: string; anchor?: IAnchor }
  ): Promise<{ num: number }> {
    return this.hubPost(apiPath(type, id, 'discussions'), body);
  }

  comment(
    type: RepoType,
    id: string,
    num: number,
    body: { comment: string; anchor?: IAnchor }
  ): Promise<unknown> {
    return this.hubPost(apiPath(type, id, 'discussions', String(num), 'comment'), body);
  }

  merge(type: RepoType, id: string, num: number): Promise<{ mergeCommitId: string }> {
    return this.hubPost(apiPath(type, id, 'discussions', String(num), 'merge'), {});
  }

  fileComments(type: RepoType, id: string, path: string): Promise<IFileComments> {
    return this.hub(`${apiPath(type, id, 'comments')}?${new URLSearchParams({ path })}`);
  }

  whoami(): Promise<IWhoami> {
    return this.hub<IWhoami>('api/whoami-v2');
  }

  /** The collections of these owners (users or organizations), each with its first items. */
  collections(owners: string[]): Promise<ICollection[]> {
    const params = new URLSearchParams(owners.map(o => ['owner', o]));
    return this.hub<ICollection[]>(`api/collections?${params}`);
  }

  /** One collection with all its items; `slug` is `owner/title-slug-id`. */
  collection(slug: string): Promise<ICollection> {
    return this.hub<ICollection>(`api/collections/${slugPath(slug)}`);
  }

  createCollection(body: {
    title: string;
    private: boolean;
    namespace?: string;
    description?: string;
  }): Promise<ICollection> {
    return this.hubPost('api/collections', body);
  }

  addCollectionItem(slug: string, type: RepoType, id: string, note?: string): Promise<ICollection> {
    return this.hubPost(`api/collections/${slugPath(slug)}/items`, {
      item: { type, id },
      ...(note ? { note } : {})
    });
  }

  // -- publishing files and creating repos ---------------------------------------------------

  publish(body: {
    path: string;
    repo: string;
    type: RepoType;
    private: boolean;
    message: string;
  }): Promise<IPublishTask> {
    return this.json<IPublishTask>('publish', { method: 'POST', body: JSON.stringify(body) });
  }

  publishTask(id: string, since: number): Promise<IPublishTask> {
    return this.json<IPublishTask>(`publish/${encodeURIComponent(id)}?since=${since}`);
  }

  createRepo(type: RepoType, repo: string, isPrivate: boolean): Promise<{ url: string }> {
    const [organization, name] = repo.split('/');
    return this.hubPost('api/repos/create', {
      name,
      organization,
      type,
      visibility: isPrivate ? 'private' : 'public'
    });
  }

  // -- likes, watches and the inbox --------------------------------------------------------

  interest(type: RepoType, id: string): Promise<IInterest> {
    return this.hub<IInterest>(apiPath(type, id, 'interest'));
  }

  like(type: RepoType, id: string): Promise<unknown> {
    return this.hubPost(apiPath(type, id, 'like'), {});
  }

  unlike(type: RepoType, id: string): Promise<unknown> {
    return this.hubSend('DELETE', apiPath(type, id, 'like'));
  }

  setWatch(type: RepoType, id: string, watching: boolean): Promise<unknown> {
    return watching
      ? this.hubPost(apiPath(type, id, 'watch'), {})
      : this.hubSend('DELETE', apiPath(type, id, 'watch'));
  }

  notifications(all = false): Promise<{ notifications: INotification[]; unread: number }> {
    return this.hub(`api/notifications?all=${all}&limit=100`);
  }

  markRead(ids: number[] | 'all'): Promise<unknown> {
    return this.hubPost('api/notifications/read', ids === 'all' ? { all: true } : { ids });
  }

  // -- the Team panel: organizations, access requests, tokens ---------------------------

  private hubSend<T>(method: 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
    return this.json<T>(URLExt.join('hub', path), {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    });
  }

  organizations(): Promise<IOrganization[]> {
    return this.hub<IOrganization[]>('api/organizations');
  }

  members(org: string): Promise<IMember[]> {
    return this.hub<IMember[]>(`api/organizations/${encodeURIComponent(org)}/members`);
  }

  setRole(org: string, user: string, role: IMember['role']): Promise<IMember> {
    return this.hubSend(
      'PUT',
      `api/organizations/${encodeURIComponent(org)}/members/${encodeURIComponent(user)}`,
      { role }
    );
  }

  removeMember(org: string, user: string): Promise<unknown> {
    return this.hubSend(
      'DELETE',
      `api/organizations/${encodeURIComponent(org)}/members/${encodeURIComponent(user)}`
    );
  }

  accessRequests(): Promise<IAccessRequest[]> {
    return this.hub<IAccessRequest[]>('api/access-requests');
  }

  decideAccessRequest(request: IAccessRequest, status: 'accepted' | 'rejected'): Promise<unknown> {
    const { type, id } = request.repo;
    return this.hubPost(apiPath(type, id, 'user-access-request', 'handle'), {
      requestId: request.requestId,
      status
    });
  }

  // Tokens go through the server's /workbench/tokens: its hub proxy hands out no credentials.
  tokens(): Promise<IToken[]> {
    return this.json<IToken[]>('tokens');
  }

  /** A new token of the caller's: its listing entry and, this once, its secret. */
  createToken(request: ITokenRequest): Promise<IToken & { token: string }> {
    const body: Record<string, unknown> = { name: request.name, scope: request.scope };
    if (request.expiresInDays) {
      body.expiresIn = request.expiresInDays * 86400; // seconds
    }
    return this.json('tokens', { method: 'POST', body: JSON.stringify(body) });
  }

  revokeToken(id: number): Promise<unknown> {
    return this.json(`tokens/${id}`, { method: 'DELETE' });
  }
}

function slugPath(slug: string): string {
  return slug.split('/').map(encodeURIComponent).join('/');
}
