import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import React from 'react';

import { CollectionsModel } from '../collections';
import { SearchModel } from '../model';
import { ISearchQuery, ISearchResult, RepoType, SIDEBAR_ID, SortKey } from '../tokens';
import { CollectionsSection } from './CollectionsSection';
import { ErrorBanner } from './ErrorBanner';
import { ResultItem } from './ResultItem';

const TABS: [ISearchQuery['type'], string][] = [
  ['all', 'All'],
  ['model', 'Models'],
  ['dataset', 'Datasets'],
  ['paper', 'Papers']
];
const SORTS: [SortKey, string][] = [
  ['relevance', 'Most relevant'],
  ['downloads', 'Most downloads'],
  ['likes', 'Most likes'],
  ['lastModified', 'Recently updated'],
  ['createdAt', 'Newest']
];
const RETRY_MS = 3000;

/** "1 result", "12 results", or "1,000+ results" when the hub counted only that far. */
export function countLabel(total: number, exact: boolean): string {
  const n = total.toLocaleString('en-US');
  return exact ? `${n} result${total === 1 ? '' : 's'}` : `${n}+ results`;
}

function SearchView(props: {
  model: SearchModel;
  onOpen: (r: ISearchResult) => void;
}): JSX.Element {
  const { model } = props;
  const q = model.query;
  const field = (key: 'task' | 'library' | 'license' | 'author', label: string) => (
    <label className="wb-Filter">
      {label}
      <input
        className="jp-mod-styled"
        data-testid={`wb-filter-${key}`}
        value={q[key]}
        onChange={e => void model.update({ [key]: e.target.value })}
      />
    </label>
  );
  return (
    <div className="wb-Search">
      <input
        className="jp-mod-styled wb-Search-input"
        data-testid="wb-search-input"
        type="search"
        placeholder="Search models, datasets and papers"
        aria-label="Search the hub"
        value={q.q}
        onChange={e => void model.update({ q: e.target.value })}
      />
      <div className="wb-Tabs" role="tablist">
        {TABS.map(([type, label]) => (
          <button
            key={type}
            role="tab"
            aria-selected={q.type === type}
            data-testid={`wb-tab-${type}`}
            className={`wb-Tab${q.type === type ? ' wb-mod-active' : ''}`}
            onClick={() => void model.update({ type })}
          >
            {label}
          </button>
        ))}
      </div>
      <details className="wb-Filters">
        <summary>Filters and sorting</summary>
        <label className="wb-Filter">
          Sort
          <select
            className="jp-mod-styled"
            data-testid="wb-sort"
            value={q.sort}
            onChange={e => void model.update({ sort: e.target.value as SortKey })}
          >
            {SORTS.map(([key, label]) => (
              <option key={key} value={key}>
                {label}
              </option>
            ))}
          </select>
        </label>
        {field('author', 'Owner')}
        {field('task', 'Task')}
        {field('library', 'Library')}
        {field('license', 'License')}
      </details>
      {model.error && <ErrorBanner {...model.error} onRetry={() => void model.refresh()} />}
      <div className="wb-Search-count" data-testid="wb-count">
        {model.loading ? 'Searching…' : countLabel(model.total, model.totalExact)}
      </div>
      <ul
        className="wb-Results"
        data-testid="wb-results"
        data-query={model.shownQuery}
        data-loading={model.loading}
      >
        {model.results.map(r => (
          <ResultItem key={`${r.type}/${r.id}`} result={r} onOpen={props.onOpen} />
        ))}
      </ul>
    </div>
  );
}

/** What the sidebar's "Collections" section needs; without it the section is left out. */
export interface ISidebarCollections {
  model: CollectionsModel;
  onOpen: (type: RepoType, id: string) => void;
  onNew: () => void;
}

/** The "Workbench" left sidebar: search over the hub, results open repo pages; collections. */
export class SearchSidebar extends ReactWidget {
  constructor(
    readonly model: SearchModel,
    private readonly onOpen: (r: ISearchResult) => void,
    private readonly collections: ISidebarCollections | null = null
  ) {
    super();
    this.id = SIDEBAR_ID;
    this.addClass('wb-Sidebar');
    this.title.caption = 'Workbench';
    // While the hub is down, try again on a timer so the panel recovers by itself.
    model.changed.connect(() => {
      if (model.error?.hubDown && this._retry === null) {
        this._retry = window.setTimeout(() => {
          this._retry = null;
          void model.refresh();
          if (collections?.model.error) {
            void collections.model.refresh();
          }
        }, RETRY_MS);
      }
    });
  }

  focusSearch(): void {
    this.node.querySelector<HTMLInputElement>('.wb-Search-input')?.focus();
  }

  dispose(): void {
    if (this._retry !== null) {
      window.clearTimeout(this._retry);
    }
    super.dispose();
  }

  render(): JSX.Element {
    return (
      <div className="wb-SidebarContent">
        <h2 className="wb-Sidebar-title">Workbench</h2>
        <UseSignal signal={this.model.changed}>
          {() => <SearchView model={this.model} onOpen={this.onOpen} />}
        </UseSignal>
        {this.collections && <CollectionsSection {...this.collections} />}
      </div>
    );
  }

  private _retry: number | null = null;
}
