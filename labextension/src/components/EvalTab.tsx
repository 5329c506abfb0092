import { URLExt } from '@jupyterlab/coreutils';
import React, { useEffect, useState } from 'react';

import { WorkbenchApi } from '../api';
import { describeError, formatAgo, jsonText } from '../model';
import { isFinished, jobAsRun, onlineText, queueText } from '../runners';
import {
  IEvalJob,
  IEvalRecord,
  IEvalRun,
  ILeaderboard,
  IUiRun,
  IWhoami,
  RepoType
} from '../tokens';
import { ErrorBanner } from './ErrorBanner';
import { JobsSection } from './JobsSection';
import { RunnersSection } from './RunnersSection';

const POLL_MS = 1000;

function value(v: unknown): string {
  return typeof v === 'number' ? String(Number(v.toPrecision(4))) : JSON.stringify(v);
}

function eventText(e: Record<string, unknown>): string {
  const rest = Object.entries(e)
    .filter(([k]) => k !== 'event')
    .map(([k, v]) => `${k}=${jsonText(v)}`)
    .join(' ');
  return `${jsonText(e.event ?? 'event')} ${rest}`.trim();
}

/** Bars of the leaderboard's metric, best first. */
function LeaderboardChart(props: { board: ILeaderboard }): JSX.Element {
  const entries = props.board.entries;
  const max = Math.max(...entries.map(e => Math.abs(e.value)), 1e-9);
  return (
    <svg
      className="wb-Chart"
      width={420}
      height={22 * entries.length + 4}
      data-testid="wb-leaderboard-chart"
    >
      {entries.map((e, i) => (
        <g key={e.run} transform={`translate(0, ${i * 22 + 2})`}>
          <text x={0} y={14} className="wb-Chart-label">
            {e.rank}. {e.model}
          </text>
          <rect x={200} y={3} height={14} width={(Math.abs(e.value) / max) * 160} />
          <text x={205 + (Math.abs(e.value) / max) * 160} y={14} className="wb-Chart-label">
            {value(e.value)}
          </text>
        </g>
      ))}
    </svg>
  );
}

/** Where a run is, from its events (a local run's, or a hub job's: a runner's lease, the
 * cells it runs, its failure): the cells finished out of all, and the one running. */
export function runProgress(events: Record<string, unknown>[]): {
  fraction: number;
  label: string;
} {
  let fraction = 0;
  let label = 'Resolving the model and dataset to commits…';
  for (const e of events) {
    const total = typeof e.total === 'number' && e.total > 0 ? e.total : 0;
    const index = typeof e.index === 'number' ? e.index : 0;
    if (e.event === 'cell_start' && total) {
      fraction = index / total;
      const name = typeof e.name === 'string' && e.name ? `: ${e.name}` : '';
      label = `Cell ${index + 1} of ${total}${name}`;
    } else if (e.event === 'cell_complete' && total) {
      fraction = (index + 1) / total;
    } else if (e.event === 'done') {
      fraction = 1;
      label =
        e.status === 'succeeded' ? 'Done' : `Failed${e.error ? `: ${jsonText(e.error)}` : ''}`;
    } else if (e.event === 'leased') {
      label = `Started on runner ${jsonText(e.runner)}…`;
    } else if (e.event === 'released') {
      label = 'Handed back to the queue';
    } else if (e.event === 'failed') {
      label = `Failed${e.error ? `: ${jsonText(e.error)}` : ''}`;
    }
  }
  return { fraction, label };
}

function EvalProgress(props: { events: Record<string, unknown>[] }): JSX.Element {
  const { fraction, label } = runProgress(props.events);
  const percent = Math.round(100 * fraction);
  return (
    <div className="wb-EvalProgress" data-testid="wb-eval-progress" data-percent={percent}>
      <progress max={100} value={percent} aria-label="Evaluation progress" />
      <span data-testid="wb-eval-step">{label}</span>
    </div>
  );
}

/**
 * Evaluation runs: for a model, "Evaluate…" (dataset, split, metrics) with live progress
 * and a link to the stored record; for a dataset, its leaderboard with a chart. Both list
 * the stored runs.
 */
export function EvalTab(props: {
  api: WorkbenchApi;
  type: RepoType;
  id: string;
  commit: string;
  linkedDatasets: string[];
}): JSX.Element {
  const { api, type, id } = props;
  const [dataset, setDataset] = useState(props.linkedDatasets[0] ?? '');
  const [split, setSplit] = useState('test');
  const [metrics, setMetrics] = useState('accuracy');
  const [run, setRun] = useState<IUiRun | null>(null);
  const [events, setEvents] = useState<Record<string, unknown>[]>([]);
  const [runs, setRuns] = useState<IEvalRun[]>([]);
  const [board, setBoard] = useState<ILeaderboard | null>(null);
  const [metric, setMetric] = useState('accuracy');
  const [error, setError] = useState<{ message: string; hubDown: boolean } | null>(null);
  const [refresh, setRefresh] = useState(0);
  const [me, setMe] = useState<IWhoami | null>(null);
  const [online, setOnline] = useState(0);
  const [onRunner, setOnRunner] = useState<boolean | null>(null); // null: online runners decide
  const [job, setJob] = useState<IEvalJob | null>(null);
  const [jobRecord, setJobRecord] = useState<IEvalRecord | null>(null);
  const useRunner = onRunner ?? online > 0;

  useEffect(() => {
    api
      .whoami()
      .then(setMe)
      .catch(() => setMe(null));
    api
      .runnersOnline()
      .then(setOnline)
      .catch(() => setOnline(0));
  }, [refresh]);

  useEffect(() => {
    api
      .evalRuns(type === 'dataset' ? { dataset: id } : { model: id })
      .then(setRuns)
      .catch(reason => setError(describeError(reason)));
    if (type === 'dataset') {
      api
        .leaderboard(id, metric, split)
        .then(setBoard)
        .catch(reason => setError(describeError(reason)));
    }
  }, [id, refresh, metric, split]);

  // Follow a started run until it is done.
  useEffect(() => {
    if (!run || run.status === 'succeeded' || run.status === 'failed') {
      return;
    }
    const timer = window.setTimeout(() => {
      api
        .evaluation(run.id, run.next)
        .then(next => {
          setEvents(old => [...old, ...next.events]);
          setRun(next);
          if (next.status === 'succeeded' || next.status === 'failed') {
            setRefresh(r => r + 1);
          }
        })
        .catch(reason => setError(describeError(reason)));
    }, POLL_MS);
    return () => window.clearTimeout(timer);
  }, [run]);

  // Follow a queued job until it is done, then fetch the record the runner posted.
  useEffect(() => {
    if (!job || isFinished(job.state)) {
      return;
    }
    const timer = window.setTimeout(() => {
      api
        .evalJob(job.id, job.last_event)
        .then(next => {
          setEvents(old => [...old, ...next.events]);
          setJob(next);
          if (isFinished(next.state)) {
            setRefresh(r => r + 1);
            if (next.record) {
              api
                .evalRecord(next.record)
                .then(setJobRecord)
                .catch(reason => setError(describeError(reason)));
            }
          }
        })
        .catch(reason => setError(describeError(reason)));
    }, POLL_MS);
    return () => window.clearTimeout(timer);
  }, [job]);

  const request = () => ({
    model: id,
    dataset: dataset.trim(),
    split: split.trim() || 'test',
    metrics: metrics
      .split(',')
      .map(m => m.trim())
      .filter(Boolean)
  });
  const start = () => {
    setError(null);
    setEvents([]);
    setRun(null);
    setJob(null);
    setJobRecord(null);
    if (useRunner) {
      api
        .queueEvalJob({ ...request(), model_revision: props.commit })
        .then(queued => {
          setEvents(queued.events);
          setJob(queued);
          setRefresh(r => r + 1);
        })
        .catch(reason => setError(describeError(reason)));
      return;
    }
    api
      .startEvaluation({
        ...request(),
        modelRevision: props.commit
      })
      .then(started => {
        setEvents(started.events);
        setRun(started);
      })
      .catch(reason => setError(describeError(reason)));
  };
  const recordUrl = (runId: string) =>
    URLExt.join(api.settings.baseUrl, 'workbench', 'hub', 'api', 'evals', runId);
  const shown: IUiRun | null = job ? jobAsRun(job, events, jobRecord) : run;
  const busy = job ? !isFinished(job.state) : !!run && !isFinished(run.status);
  return (
    <div className="wb-Evals" data-testid="wb-evals">
      {error && <ErrorBanner {...error} onRetry={() => setRefresh(r => r + 1)} />}
      {type === 'model' && (
        <section>
          <h3>Evaluate…</h3>
          <div className="wb-Compare">
            <label>
              Dataset{' '}
              <input
                className="jp-mod-styled"
                data-testid="wb-eval-dataset"
                value={dataset}
                onChange={e => setDataset(e.target.value)}
              />
            </label>
            <label>
              Split{' '}
              <input
                className="jp-mod-styled"
                data-testid="wb-eval-split"
                size={8}
                value={split}
                onChange={e => setSplit(e.target.value)}
              />
            </label>
            <label>
              Metrics{' '}
              <input
                className="jp-mod-styled"
                data-testid="wb-eval-metrics"
                value={metrics}
                onChange={e => setMetrics(e.target.value)}
              />
            </label>
            <button
              className="jp-mod-styled jp-mod-accept"
              data-testid="wb-eval-start"
              disabled={!dataset.trim() || !!busy}
              onClick={start}
            >
              Evaluate
            </button>
          </div>
          <label className="wb-EvalWhere">
            <input
              type="checkbox"
              data-testid="wb-eval-on-runner"
              checked={useRunner}
              onChange={e => setOnRunner(e.target.checked)}
            />{' '}
            Run on a runner (verified)
          </label>{' '}
          <span className="wb-Empty" data-testid="wb-eval-runners">
            {onlineText(online)}
            {useRunner
              ? online > 0
                ? ''
                : ': the job waits in the queue for one'
              : ': runs on this machine (self-reported)'}
          </span>
          <p className="wb-Empty">Pinned to this commit: {props.commit.slice(0, 12)}</p>
          {shown && (
            <div className="wb-EvalRun" data-testid="wb-eval-run" data-status={shown.status}>
              <div>
                {job ? 'Job' : 'Run'} <code>{shown.id}</code>:{' '}
                <b data-testid="wb-eval-status">{shown.status}</b>
                {job && job.state === 'queued' && (
                  <span data-testid="wb-eval-queue"> — {queueText(job.queue_position)}</span>
                )}
              </div>
              <EvalProgress events={events} />
              <details className="wb-EvalLog">
                <summary>Event log</summary>
                <ol className="wb-EvalEvents" data-testid="wb-eval-events">
                  {events.map((e, i) => (
                    <li key={i}>{eventText(e)}</li>
                  ))}
                </ol>
              </details>
              {shown.record && (
                <div data-testid="wb-eval-result">
                  {shown.record.verified && (
                    <span className="wb-Badge wb-Badge-verified" data-testid="wb-eval-verified">
                      verified by {shown.record.verified_by}
                    </span>
                  )}
                  {shown.record.verified === false && (
                    <span className="wb-Badge" data-testid="wb-eval-self-reported">
                      self-reported
                    </span>
                  )}
                  {Object.entries(shown.record.metrics ?? {}).map(([k, v]) => (
                    <div key={k}>
                      {k}: <b>{value(v)}</b>
                    </div>
                  ))}
                  {shown.record.error && (
                    <ErrorBanner
                      message={shown.record.error.message ?? 'The run failed.'}
                      hubDown={false}
                    />
                  )}
                  {shown.record.id && (
                    <a
                      href={recordUrl(shown.record.id)}
                      target="_blank"
                      rel="noopener noreferrer"
                      data-testid="wb-eval-record"
                    >
                      Run record {shown.record.id}
                    </a>
                  )}
                </div>
              )}
            </div>
          )}
        </section>
      )}
      {type === 'dataset' && (
        <section>
          <h3>Leaderboard</h3>
          <label>
            Metric{' '}
            <input
              className="jp-mod-styled"
              data-testid="wb-board-metric"
              value={metric}
              onChange={e => setMetric(e.target.value)}
            />
          </label>{' '}
          <label>
            Split{' '}
            <input
              className="jp-mod-styled"
              size={8}
              value={split}
              onChange={e => setSplit(e.target.value)}
            />
          </label>
          {board && board.entries.length > 0 ? (
            <LeaderboardChart board={board} />
          ) : (
            <p className="wb-Empty">No succeeded runs for this metric yet.</p>
          )}
        </section>
      )}
      <section>
        <h3>Runs</h3>
        {runs.length === 0 ? (
          <p className="wb-Empty">No evaluation runs yet.</p>
        ) : (
          <table className="wb-Table" data-testid="wb-eval-runs">
            <thead>
              <tr>
                <th>Run</th>
                <th>{type === 'dataset' ? 'Model' : 'Dataset'}</th>
                <th>Split</th>
                <th>Status</th>
                <th>Metrics</th>
                <th>Computed by</th>
                <th>When</th>
              </tr>
            </thead>
            <tbody>
              {runs.map(r => (
                <tr key={r.id} data-run={r.id}>
                  <td>
                    <a href={recordUrl(r.id)} target="_blank" rel="noopener noreferrer">
                      {r.id.slice(0, 10)}
                    </a>
                  </td>
                  <td>{type === 'dataset' ? r.model : r.dataset}</td>
                  <td>{r.split}</td>
                  <td>{r.status}</td>
                  <td>
                    {Object.entries(r.metrics ?? {})
                      .map(([k, v]) => `${k}=${value(v)}`)
                      .join(', ')}
                  </td>
                  <td data-testid="wb-eval-run-verified">
                    {r.verified ? (
                      <span className="wb-Badge wb-Badge-verified">verified ({r.verified_by})</span>
                    ) : (
                      <span className="wb-Badge">self-reported</span>
                    )}
                  </td>
                  <td>{formatAgo(r.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {me && (
        // jobs and runners are for signed-in users (none when browsing another hub anonymously)
        <>
          <JobsSection api={api} user={me.name} refresh={refresh} recordUrl={recordUrl} />
          <RunnersSection api={api} isAdmin={!!me.isAdmin} />
        </>
      )}
    </div>
  );
}
