import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import React, { useEffect, useState } from 'react';

import { WorkbenchApi } from '../api';
import { describeError } from '../model';
import { ICitingRepo, REPO_TYPES, RepoType } from '../tokens';
import { ErrorBanner } from './ErrorBanner';
import { Markdown } from './Markdown';

const RETRY_MS = 3000;

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function repoLinks(
  links: [RepoType, string][],
  testId: string,
  onOpen: (type: RepoType, id: string) => void
): JSX.Element {
  return (
    <ul data-testid={testId}>
      {links.map(([type, id]) => (
        <li key={`${type}/${id}`}>
          <button
            className="wb-Link"
            data-repo-id={id}
            data-repo-type={type}
            onClick={() => onOpen(type, id)}
          >
            <span className={`wb-Badge wb-Badge-${type}`}>{type}</span> {id}
          </button>
        </li>
      ))}
    </ul>
  );
}

/**
 * A paper's title, authors, abstract (sanitized markdown), the repos its card names, and
 * the models, datasets and spaces whose cards cite it (asked of the hub, which indexes citations).
 */
export function PaperTab(props: {
  api: WorkbenchApi;
  rendermime: IRenderMimeRegistry;
  id: string;
  card: Record<string, unknown>;
  onOpen: (type: RepoType, id: string) => void;
}): JSX.Element {
  const { api, card, id } = props;
  const [citedBy, setCitedBy] = useState<ICitingRepo[] | null>(null);
  const [error, setError] = useState<{ message: string; hubDown: boolean } | null>(null);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    let cancelled = false;
    let timer: number | undefined;
    api
      .paperCitations(id)
      .then(answer => {
        if (!cancelled) {
          setCitedBy(answer.citedBy);
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
  }, [id, attempt]);

  const title = typeof card.title === 'string' ? card.title : '';
  const abstract = typeof card.abstract === 'string' ? card.abstract : '';
  const links: [RepoType, string][] = [
    ...strings(card.models).map((r): [RepoType, string] => ['model', r]),
    ...strings(card.datasets).map((r): [RepoType, string] => ['dataset', r])
  ];
  const citing: [RepoType, string][] = (citedBy ?? [])
    .filter(r => REPO_TYPES.includes(r.type) && r.type !== 'paper')
    .map((r): [RepoType, string] => [r.type, r.id]);
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
        repoLinks(links, 'wb-paper-links', props.onOpen)
      )}
      <h3>Cited by</h3>
      {error && <ErrorBanner {...error} onRetry={() => setAttempt(a => a + 1)} />}
      {!error && citedBy === null && (
        <p className="wb-Empty">Looking for repos that cite this paper…</p>
      )}
      {citedBy !== null &&
        (citing.length === 0 ? (
          <p className="wb-Empty" data-testid="wb-paper-cited-by-none">
            No model, dataset or space card on this hub cites this paper yet.
          </p>
        ) : (
          repoLinks(citing, 'wb-paper-cited-by', props.onOpen)
        ))}
    </div>
  );
}
