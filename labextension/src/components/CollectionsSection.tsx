import { UseSignal } from '@jupyterlab/ui-components';
import React from 'react';

import { CollectionsModel } from '../collections';
import { ICollection, ICollectionItem, RepoType } from '../tokens';
import { ErrorBanner } from './ErrorBanner';

function CollectionItem(props: {
  item: ICollectionItem;
  onOpen: (type: RepoType, id: string) => void;
}): JSX.Element {
  const { item } = props;
  return (
    <li
      className="wb-CollectionItem"
      data-testid="wb-collection-item"
      data-repo-id={item.id}
      data-repo-type={item.type}
    >
      <button
        className="wb-Result-open"
        data-testid="wb-collection-item-open"
        onClick={() => props.onOpen(item.type, item.id)}
        title={`Open ${item.id}`}
      >
        <span className={`wb-Badge wb-Badge-${item.type}`}>{item.type}</span>
        <span className="wb-Result-id">{item.id}</span>
      </button>
      {/* Notes are the user's text: shown as text, never as HTML. */}
      {item.note?.text && (
        <div className="wb-Result-summary" data-testid="wb-collection-note">
          {item.note.text}
        </div>
      )}
    </li>
  );
}

function CollectionEntry(props: {
  model: CollectionsModel;
  collection: ICollection;
  onOpen: (type: RepoType, id: string) => void;
}): JSX.Element {
  const { model, collection } = props;
  const open = model.isExpanded(collection.slug);
  const shown = model.details(collection.slug) ?? collection;
  const count = shown.numberItems ?? shown.items.length;
  return (
    <li
      className="wb-Collection"
      data-testid="wb-collection"
      data-slug={collection.slug}
      data-expanded={open}
    >
      <button
        className="wb-Collection-toggle"
        data-testid="wb-collection-toggle"
        aria-expanded={open}
        onClick={() => void model.toggle(collection.slug)}
        title={collection.slug}
      >
        <span className="wb-Collection-caret">{open ? '▾' : '▸'}</span>
        <span className="wb-Result-id">{collection.title}</span>
        <span className="wb-Collection-owner"> {collection.owner.name}</span>
        {collection.private && <span className="wb-Badge">private</span>}
        <span className="wb-Collection-count">
          {count} item{count === 1 ? '' : 's'}
        </span>
      </button>
      {open && (
        <ul className="wb-Collection-items" data-testid="wb-collection-items">
          {shown.items.length === 0 && <li className="wb-Empty">No items yet.</li>}
          {shown.items.map(item => (
            <CollectionItem key={item._id} item={item} onOpen={props.onOpen} />
          ))}
        </ul>
      )}
    </li>
  );
}

/** The sidebar's "Collections" section: the user's and their organizations' collections. */
export function CollectionsSection(props: {
  model: CollectionsModel;
  onOpen: (type: RepoType, id: string) => void;
  onNew: () => void;
}): JSX.Element {
  const { model } = props;
  return (
    <UseSignal signal={model.changed}>
      {() => (
        <details className="wb-Collections" data-testid="wb-collections" open>
          <summary className="wb-Collections-title">Collections</summary>
          <div className="wb-Collections-actions">
            <button className="jp-mod-styled" data-testid="wb-collection-new" onClick={props.onNew}>
              New collection…
            </button>
            <button
              className="jp-mod-styled"
              data-testid="wb-collections-refresh"
              title="Load the collections again"
              onClick={() => void model.refresh()}
            >
              Refresh
            </button>
          </div>
          {model.error && <ErrorBanner {...model.error} onRetry={() => void model.refresh()} />}
          {!model.loading && !model.error && model.collections.length === 0 && (
            <p className="wb-Empty">No collections yet.</p>
          )}
          <ul
            className="wb-Collections-list"
            data-testid="wb-collections-list"
            data-loading={model.loading}
          >
            {model.collections.map(c => (
              <CollectionEntry key={c.slug} model={model} collection={c} onOpen={props.onOpen} />
            ))}
          </ul>
        </details>
      )}
    </UseSignal>
  );
}
