import React, { useEffect, useState } from 'react';

import { WorkbenchApi } from '../api';
import { describeError, formatAgo } from '../model';
import { onlineText, runnerStatus } from '../runners';
import { IRunner } from '../tokens';
import { ErrorBanner } from './ErrorBanner';

const POLL_MS = 5000;

/**
 * The hub's runners: for hub admins, each one with its status, labels, when it was last seen
 * and the jobs it runs, to pause, resume or remove; for everyone else, how many are online.
 */
export function RunnersSection(props: { api: WorkbenchApi; isAdmin: boolean }): JSX.Element {
  const { api, isAdmin } = props;
  const [runners, setRunners] = useState<IRunner[] | null>(null);
  const [online, setOnline] = useState<number | null>(null);
  const [error, setError] = useState<{ message: string; hubDown: boolean } | null>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    const load = isAdmin ? api.runners().then(setRunners) : api.runnersOnline().then(setOnline);
    load.then(() => setError(null)).catch(reason => setError(describeError(reason)));
    const timer = window.setTimeout(() => setTick(t => t + 1), POLL_MS);
    return () => window.clearTimeout(timer);
  }, [isAdmin, tick]);

  const act = (done: Promise<unknown>) => {
    done.then(() => setTick(t => t + 1)).catch(reason => setError(describeError(reason)));
  };
  const remove = (name: string) => {
    if (window.confirm(`Remove runner ${name}? Its token stops working.`)) {
      act(api.removeRunner(name));
    }
  };

  return (
    <section data-testid="wb-runners">
      <h3>Runners</h3>
      {error && <ErrorBanner {...error} onRetry={() => setTick(t => t + 1)} />}
      {!isAdmin && online !== null && (
        <p data-testid="wb-runners-online">
          {onlineText(online)}: &quot;Evaluate…&quot; runs verified evaluations on them.
        </p>
      )}
      {isAdmin && runners !== null && runners.length === 0 && (
        <p className="wb-Empty">
          No runners registered: <code>workbench hub runner register NAME</code> prints the token to
          start one with.
        </p>
      )}
      {isAdmin && runners !== null && runners.length > 0 && (
        <table className="wb-Table" data-testid="wb-runners-table">
          <thead>
            <tr>
              <th>Runner</th>
              <th>Status</th>
              <th>Labels</th>
              <th>Last seen</th>
              <th>Running</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {runners.map(r => (
              <tr key={r.name} data-runner={r.name}>
                <td>{r.name}</td>
                <td data-testid="wb-runner-status">{runnerStatus(r)}</td>
                <td>{r.labels.join(', ')}</td>
                <td>{r.last_seen ? formatAgo(r.last_seen) : 'never'}</td>
                <td data-testid="wb-runner-jobs">{r.jobs.map(j => `job ${j}`).join(', ')}</td>
                <td>
                  <button
                    className="jp-mod-styled"
                    data-testid="wb-runner-pause"
                    onClick={() => act(api.setRunnerPaused(r.name, !r.paused))}
                  >
                    {r.paused ? 'Resume' : 'Pause'}
                  </button>{' '}
                  <button
                    className="jp-mod-styled jp-mod-warn"
                    data-testid="wb-runner-remove"
                    onClick={() => remove(r.name)}
                  >
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
