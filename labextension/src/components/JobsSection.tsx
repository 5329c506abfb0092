import React, { useEffect, useState } from 'react';

import { WorkbenchApi } from '../api';
import { describeError, formatAgo } from '../model';
import { canCancel, isFinished, queueText } from '../runners';
import { IEvalJob } from '../tokens';
import { ErrorBanner } from './ErrorBanner';

const POLL_MS = 2000;

/**
 * The user's evaluation jobs on the hub's runners, newest first: state, place in the queue,
 * the runner, the record it posted; queued and running ones can be cancelled.
 */
export function JobsSection(props: {
  api: WorkbenchApi;
  user: string | null;
  refresh: number;
  recordUrl: (id: string) => string;
}): JSX.Element {
  const { api, user } = props;
  const [jobs, setJobs] = useState<IEvalJob[]>([]);
  const [error, setError] = useState<{ message: string; hubDown: boolean } | null>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    let timer = 0;
    api
      .evalJobs()
      .then(listed => {
        setJobs(listed);
        setError(null);
        if (listed.some(j => !isFinished(j.state))) {
          timer = window.setTimeout(() => setTick(t => t + 1), POLL_MS);
        }
      })
      .catch(reason => setError(describeError(reason)));
    return () => window.clearTimeout(timer);
  }, [props.refresh, tick]);

  const cancel = (id: number) => {
    api
      .cancelEvalJob(id)
      .then(() => setTick(t => t + 1))
      .catch(reason => setError(describeError(reason)));
  };

  return (
    <section data-testid="wb-jobs">
      <h3>Jobs</h3>
      {error && <ErrorBanner {...error} onRetry={() => setTick(t => t + 1)} />}
      {jobs.length === 0 ? (
        <p className="wb-Empty">No evaluation jobs on the hub&apos;s runners yet.</p>
      ) : (
        <table className="wb-Table" data-testid="wb-jobs-table">
          <thead>
            <tr>
              <th>Job</th>
              <th>Model</th>
              <th>Dataset</th>
              <th>State</th>
              <th>Runner</th>
              <th>Record</th>
              <th>Queued</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {jobs.map(j => (
              <tr key={j.id} data-job={j.id}>
                <td>{j.id}</td>
                <td>{j.spec.model}</td>
                <td>{j.spec.dataset}</td>
                <td data-testid="wb-job-state" title={j.error ?? undefined}>
                  {j.state}
                  {j.state === 'queued' && (
                    <span data-testid="wb-job-queue"> ({queueText(j.queue_position)})</span>
                  )}
                </td>
                <td>{j.runner ?? ''}</td>
                <td>
                  {j.record && (
                    <a href={props.recordUrl(j.record)} target="_blank" rel="noopener noreferrer">
                      {j.record.slice(0, 10)}
                    </a>
                  )}
                </td>
                <td>{formatAgo(j.created_at)}</td>
                <td>
                  {canCancel(j, user) && (
                    <button
                      className="jp-mod-styled"
                      data-testid="wb-job-cancel"
                      onClick={() => cancel(j.id)}
                    >
                      Cancel
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
