import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import React from 'react';

import { RepoType } from '../tokens';
import { Markdown } from './Markdown';

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** A paper's title, authors, abstract (sanitized markdown) and the repos it links. */
export function PaperTab(props: {
  rendermime: IRenderMimeRegistry;
  card: Record<string, unknown>;
  onOpen: (type: RepoType, id: string) => void;
}): JSX.Element {
  const { card } = props;
  const title = typeof card.title === 'string' ? card.title : '';
  const abstract = typeof card.abstract === 'string' ? card.abstract : '';
  const links: [RepoType, string][] = [
    ...strings(card.models).map((id): [RepoType, string] => ['model', id]),
    ...strings(card.datasets).map((id): [RepoType, string] => ['dataset', id])
  ];
  return (
    <div className="wb-Paper" data-testid="wb-paper">
      <h2>{title}</h2>
      <p className="wb-Paper-authors">{strings(card.authors).join(', ')}</p>
      {typeof card.published === 'string' && <p>Published {card.published}</p>}
      <h3>Abstract</h3>
      <Markdown rendermime={props.rendermime} source={abstract} testId="wb-abstract" />
      <h3>Linked models and datasets</h3>
      {links.length === 0 ? (
        <p className="wb-Empty">This paper links no repos.</p>
      ) : (
        <ul data-testid="wb-paper-links">
          {links.map(([type, id]) => (
            <li key={`${type}/${id}`}>
              <button className="wb-Link" onClick={() => props.onOpen(type, id)}>
                <span className={`wb-Badge wb-Badge-${type}`}>{type}</span> {id}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
