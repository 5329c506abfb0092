/**
 * Shared types, plugin ids and command ids of the Workbench lab extension.
 */

import type { INotebookContent } from '@jupyterlab/nbformat';
import type { IDiffEntry } from 'nbdime/lib/diff/diffentries';

export const PLUGIN_ID = 'workbench:plugin';
export const STATUS_PLUGIN_ID = 'workbench:status';
export const SIDEBAR_ID = 'workbench-sidebar';

export const CommandIDs = {
  openRepo: 'workbench:open-repo',
  insertLoadCode: 'workbench:insert-load-code',
  focusSearch: 'workbench:focus-search',
  publishNotebook: 'workbench:publish-notebook',
  commentCell: 'workbench:comment-cell',
  checkHub: 'workbench:check-hub',
  newCollection: 'workbench:new-collection',
  addToCollection: 'workbench:add-to-collection',
  copyLink: 'workbench:copy-link',
  publishPath: 'workbench:publish-path',
  createRepo: 'workbench:create-repo'
} as const;

export type RepoType = 'model' | 'dataset' | 'paper' | 'space';
export const REPO_TYPES: RepoType[] = ['model', 'dataset', 'paper', 'space'];

export type SortKey = 'relevance' | 'downloads' | 'likes' | 'lastModified' | 'createdAt';

/** What the sidebar asks the hub's `/api/search` for. */
export interface ISearchQuery {
  q: string;
  type: RepoType | 'all';
  sort: SortKey;
  task: string;
  library: string;
  license: string;
  author: string;
  limit: number;
}

export interface ISearchResult {
  id: string;
  type: RepoType;
  private: boolean;
  title: string | null;
  summary: string | null;
  tags: string[];
  task: string | null;
  library: string | null;
  license: string | null;
  downloads: number;
  likes: number;
  lastModified: string | null;
  createdAt: string | null;
}

export interface ISearchPage {
  results: ISearchResult[];
  total: number;
  /** False: at least `total` match (the hub did not count them all). */
  totalExact?: boolean;
  query: string;
}

export interface ISibling {
  rfilename: string;
}

export interface IRepoInfo {
  id: string;
  sha: string;
  private?: boolean;
  lastModified?: string;
  downloads?: number;
  likes?: number;
  tags?: string[];
  cardData?: Record<string, unknown> | null;
  siblings?: ISibling[];
}

export interface ITreeEntry {
  type: 'file' | 'directory';
  path: string;
  size?: number;
  oid?: string;
  lfs?: { size: number; oid: string } | null;
}

export interface ICommit {
  id: string;
  title: string;
  message: string;
  date: string;
  authors: { user: string }[];
}

export interface IRef {
  name: string;
  ref: string;
  targetCommit: string;
}

export interface IRefs {
  branches: IRef[];
  tags: IRef[];
  converts: IRef[];
}

export interface ICompareFile {
  path: string;
  status: 'added' | 'removed' | 'modified';
  oldSize: number | null;
  newSize: number | null;
  /** With `structured=1`: what the hub made of the change (notebooks: nbdime's diff). */
  structured?: IStructuredDiff;
}

/** One output of a notebook cell as the hub's notebook diff sends it (already sanitized). */
export interface INotebookOutput {
  outputType: string;
  name?: string;
  text?: string;
  ename?: string;
  evalue?: string;
  data?: Record<string, string>;
  omitted?: string[];
}

/** One cell that differs, in the hub's (nbdime's) notebook diff. */
export interface INotebookCellDiff {
  change: 'added' | 'removed' | 'moved' | 'changed';
  oldIndex: number | null;
  newIndex: number | null;
  id?: string | null;
  cellType?: string;
  /** The parts that changed: source, outputs, metadata, cellType. */
  parts?: string[];
  /** Both sides when it changed; an added or removed cell carries its own side only. */
  source?: { old?: string | null; new?: string | null };
  outputs?: { old?: INotebookOutput[]; new?: INotebookOutput[] };
}

/** What nbdime's lab widgets render, as nbdime's server answers `/api/diff`: the old
 * notebook (outputs sanitized by the hub) and nbdime's diff of it to the new one. */
export interface INbdimeDiff {
  base: INotebookContent;
  diff: IDiffEntry[];
}

export interface IStructuredDiff {
  kind: string;
  cells?: INotebookCellDiff[];
  nbdime?: INbdimeDiff;
  summary?: Record<string, number>;
  notice?: string;
  error?: { code: string; message: string };
}

export interface ICompare {
  base: string;
  head: string;
  files: ICompareFile[];
}

export interface IHubStatus {
  hubUrl: string;
  configuredUrl?: string;
  embedded: boolean;
  reachable: boolean;
  authenticated: boolean;
  demo?: string;
  version?: string;
  user?: string;
  error?: string;
}

export interface ISplit {
  dataset: string;
  config: string;
  split: string;
}

export interface IFeature {
  feature_idx: number;
  name: string;
  type: Record<string, unknown>;
}

export interface IRowsPage {
  features: IFeature[];
  rows: { row_idx: number; row: Record<string, unknown> }[];
  num_rows_total: number;
}

export interface IHistogram {
  hist: number[];
  bin_edges: number[];
}

export interface IColumnStatistics {
  column_name: string;
  column_type: string;
  column_statistics: {
    histogram?: IHistogram | null;
    frequencies?: Record<string, number> | null;
    [key: string]: unknown;
  };
}

export interface IEvalRequest {
  model: string;
  dataset: string;
  split: string;
  metrics: string[];
  modelRevision?: string;
}

export interface IEvalRecord {
  id: string | null;
  status: string;
  metrics: Record<string, unknown>;
  error: { message?: string } | null;
  verified?: boolean;
  verified_by?: string | null;
}

/** A run this JupyterLab started, as `/workbench/evals/<id>` reports it. */
export interface IUiRun {
  id: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  events: Record<string, unknown>[];
  next: number;
  record: IEvalRecord | null;
}

/** A runner as hub admins see it (`/api/runners`). */
export interface IRunner {
  name: string;
  labels: string[];
  paused: boolean;
  online: boolean;
  last_seen: string | null;
  jobs: number[];
}

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** An evaluation job queued for the hub's runners (`/api/eval-jobs`). */
export interface IEvalJob {
  id: number;
  state: JobState;
  owner: string;
  spec: { model?: string; dataset?: string; split?: string; metrics?: string[] };
  requires: string[];
  runner: string | null;
  record: string | null;
  error: string | null;
  created_at: string;
  events: Record<string, unknown>[];
  last_event: number;
  queue_position: number | null;
}

/** What `POST /api/eval-jobs` takes from the lab. */
export interface IEvalJobRequest {
  model: string;
  dataset: string;
  split: string;
  metrics: string[];
  model_revision?: string;
}

/** A stored run record on the hub (`/api/evals`). */
export interface IEvalRun {
  id: string;
  model: string;
  dataset: string;
  split: string;
  status: string;
  metrics: Record<string, unknown>;
  created_at?: string;
  model_commit?: string;
  verified?: boolean;
  verified_by?: string | null;
}

export interface ILeaderboard {
  dataset: string;
  metric: string;
  higher_is_better: boolean;
  entries: { rank: number; model: string; value: number; run: string; model_commit: string }[];
}

export interface IDiscussion {
  num: number;
  title: string;
  status: string;
  isPullRequest?: boolean;
  author?: { name: string };
  createdAt?: string;
}

export interface IDiscussionEvent {
  id: string;
  type: string;
  createdAt: string;
  author: { name: string };
  data?: {
    latest?: { raw: string };
    hidden?: boolean;
    status?: string;
    from?: string;
    to?: string;
  };
  anchor?: IAnchor & { run?: string | null };
}

export interface IDiscussionDetails extends IDiscussion {
  events: IDiscussionEvent[];
  changes?: {
    base: string;
    headRef: string;
    head: string;
    baseOid: string;
    mergeCommitId?: string;
  };
  filesWithConflicts?: string[];
}

export interface IAnchor {
  path?: string;
  cell?: string;
  commit?: string;
}

export interface ICellComment {
  id: string;
  discussion: number;
  author: string;
  createdAt: string;
  content: string;
  hidden: boolean;
  cell: string | null;
  changed?: boolean;
}

export interface IFileComments {
  comments: ICellComment[];
  cells?: { cell: string; index: number | null; changed: boolean; comments: ICellComment[] }[];
}

/** A repo whose card cites a paper (`/api/papers/<id>/papers` → `citedBy`). */
export interface ICitingRepo {
  id: string;
  type: RepoType;
  private: boolean;
}

/** What a repo's card cites, and (for a paper) which repos cite it. */
export interface IPaperCitations {
  papers: { id: string; title: string }[];
  citedBy: ICitingRepo[];
}

/** Where a published notebook lives on the hub (notebook metadata `workbench`). */
export interface INotebookLink {
  repo: string;
  type: RepoType;
  path: string;
}

/** Who the hub token belongs to (`/api/whoami-v2`), as far as the sidebar needs it. */
export interface IWhoami {
  name: string;
  isAdmin?: boolean;
  orgs?: { name: string }[];
}

/** One entry of a collection (`/api/collections/...`); papers are items too. */
export interface ICollectionItem {
  _id: string;
  type: RepoType;
  id: string;
  position: number;
  private?: boolean;
  title?: string;
  note?: { text: string; html?: string };
}

/** A collection as the hub returns it; a listing carries at most four of its items. */
export interface ICollection {
  slug: string;
  title: string;
  description?: string | null;
  owner: { name: string; isOrg?: boolean };
  items: ICollectionItem[];
  numberItems?: number;
  lastUpdated?: string;
  private: boolean;
}

/** One of the caller's organizations (`/api/organizations`). */
export interface IOrganization {
  name: string;
  fullname?: string;
  roleInOrg: 'read' | 'write' | 'admin';
}

/** A member of an organization and their role (`/api/organizations/{org}/members`). */
export interface IMember {
  name: string;
  fullname?: string;
  role: 'read' | 'write' | 'admin';
}

/** One of the caller's tokens as the hub lists them: never the secret. */
export interface IToken {
  id: number;
  name: string;
  prefix: string;
  scope: string;
  createdAt: string | null;
  lastUsedAt: string | null;
  expiresAt?: string | null;
  revoked: boolean;
}

/** What the Team panel's token form asks the hub for. */
export interface ITokenRequest {
  name: string;
  scope: 'read' | 'write';
  /** Days until it expires; none: it never does. */
  expiresInDays?: number;
}

/** A pending access request waiting on the caller (`/api/access-requests`). */
export interface IAccessRequest {
  requestId: string;
  user: { user: string; fullname?: string; email?: string | null };
  status: 'pending' | 'accepted' | 'rejected';
  timestamp: string;
  fields: Record<string, unknown> | null;
  repo: { type: RepoType; id: string };
}

/** Whether the caller likes and watches a repo (`/api/{type}s/{id}/interest`). */
export interface IInterest {
  liked: boolean;
  watching: boolean;
  likes: number;
}

/** One notification of the inbox (`/api/notifications`). */
export interface INotification {
  id: number;
  kind: string;
  repo: { name: string | null; type: RepoType | null };
  discussion: number | null;
  title: string | null;
  event: string | null;
  actor: string | null;
  createdAt: string;
  read: boolean;
  detail: string | null;
}

/** Where a deep link points: a repo page, optionally one of its discussions. */
export interface IDeepLink {
  type: RepoType;
  id: string;
  discussion?: number;
}

/** A publish from the file browser, as the server reports it (`/workbench/publish/<id>`). */
export interface IPublishTask {
  id: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed';
  request?: { path: string; repo: string; type: RepoType };
  events: { event: string; step?: string; done?: number; total?: number | null }[];
  next: number;
  record: {
    repo: string;
    type?: RepoType;
    commit?: string | null;
    files?: number;
    unchanged?: boolean;
    error?: { code?: string; message: string };
  } | null;
}

/** Where a review comment points in a pull request's diff. */
export interface IReviewAnchor {
  path: string;
  side: 'old' | 'new';
  line?: number;
  cell?: number;
  part?: 'source' | 'output';
}

export interface IReviewThread {
  id: string;
  anchor: IReviewAnchor & { commit?: string };
  resolved: boolean;
  resolvedBy?: string | null;
  comments: { id: string; author: string; body: string; html?: string; createdAt: string }[];
}

export interface IReviews {
  reviews: {
    id: string;
    author: string;
    state: string;
    summary: string;
    commit: string;
    stale: boolean;
    createdAt: string;
  }[];
  approvals: {
    required: number;
    approvals: number;
    approvedBy: string[];
    changesRequestedBy: string[];
    staleApprovedBy: string[];
    satisfied: boolean;
  };
}
