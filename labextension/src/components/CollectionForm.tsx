import { ReactWidget } from '@jupyterlab/ui-components';
import React from 'react';

import { ICollection } from '../tokens';

/** The body of the "New collection…" dialog: title, owner and visibility. */
export class NewCollectionForm extends ReactWidget {
  constructor(private readonly owners: string[]) {
    super();
    this.addClass('wb-CollectionForm');
    this.namespace = owners[0] ?? '';
  }

  collectionTitle = '';
  namespace: string;
  isPrivate = false;

  getValue(): { title: string; namespace: string; private: boolean } {
    return {
      title: this.collectionTitle.trim(),
      namespace: this.namespace,
      private: this.isPrivate
    };
  }

  render(): JSX.Element {
    return (
      <div>
        <label className="wb-Filter">
          Title
          <input
            className="jp-mod-styled"
            data-testid="wb-collection-title"
            onChange={e => (this.collectionTitle = e.target.value)}
          />
        </label>
        {this.owners.length > 1 && (
          <label className="wb-Filter">
            Owner
            <select
              className="jp-mod-styled"
              data-testid="wb-collection-owner"
              defaultValue={this.namespace}
              onChange={e => (this.namespace = e.target.value)}
            >
              {this.owners.map(o => (
                <option key={o} value={o}>
                  {o}
                </option>
              ))}
            </select>
          </label>
        )}
        <label className="wb-Filter">
          <input
            type="checkbox"
            data-testid="wb-collection-private"
            onChange={e => (this.isPrivate = e.target.checked)}
          />
          Private
        </label>
      </div>
    );
  }
}

/** The body of the "Add to collection…" dialog: which collection, and an optional note. */
export class AddToCollectionForm extends ReactWidget {
  constructor(private readonly collections: ICollection[]) {
    super();
    this.addClass('wb-CollectionForm');
    this.slug = collections[0]?.slug ?? '';
  }

  slug: string;
  note = '';

  getValue(): { slug: string; note: string } {
    return { slug: this.slug, note: this.note.trim() };
  }

  render(): JSX.Element {
    return (
      <div>
        <label className="wb-Filter">
          Collection
          <select
            className="jp-mod-styled"
            data-testid="wb-add-collection-slug"
            defaultValue={this.slug}
            onChange={e => (this.slug = e.target.value)}
          >
            {this.collections.map(c => (
              <option key={c.slug} value={c.slug}>
                {c.owner.name}: {c.title}
              </option>
            ))}
          </select>
        </label>
        <label className="wb-Filter">
          Note
          <input
            className="jp-mod-styled"
            data-testid="wb-add-collection-note"
            placeholder="Optional"
            onChange={e => (this.note = e.target.value)}
          />
        </label>
      </div>
    );
  }
}
