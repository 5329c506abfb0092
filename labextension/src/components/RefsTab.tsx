import React from 'react';

import { IRef, IRefs } from '../tokens';

/** Branches and tags; clicking one shows the repo at that ref's commit. */
export function RefsTab(props: { refs: IRefs; onSelect: (ref: IRef) => void }): JSX.Element {
  const section = (title: string, refs: IRef[], testId: string) => (
    <section>
      <h3>{title}</h3>
      {refs.length === 0 ? (
        <p className="wb-Empty">None.</p>
      ) : (
        <ul className="wb-Refs" data-testid={testId}>
          {refs.map(r => (
            <li key={r.ref}>
              <button className="wb-Link" onClick={() => props.onSelect(r)}>
                {r.name}
              </button>{' '}
              <code>{r.targetCommit.slice(0, 12)}</code>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
  return (
    <div>
      {section('Branches', props.refs.branches, 'wb-branches')}
      {section('Tags', props.refs.tags, 'wb-tags')}
    </div>
  );
}
