/**
 * The rules of the lab's runner views, apart from React: what a job's state and place in the
 * queue say, who may cancel it, and how a hub job reads as a run of "Evaluate…".
 */
import { IEvalJob, IEvalRecord, IRunner, IUiRun, JobState } from './tokens';

/** States a job does not leave. */
export const FINISHED: readonly JobState[] = ['succeeded', 'failed', 'cancelled'];

export function isFinished(state: string): boolean {
  return (FINISHED as readonly string[]).includes(state);
}

/** "Queued: next in line", "Queued: 2 jobs ahead"; empty once the job runs. */
export function queueText(position: number | null | undefined): string {
  if (position === null || position === undefined) {
    return '';
  }
  if (position === 0) {
    return 'Queued: next in line';
  }
  return `Queued: ${position} job${position === 1 ? '' : 's'} ahead`;
}

/** Only its owner cancels a job, and only while it is queued or running. */
export function canCancel(job: IEvalJob, user: string | null): boolean {
  return !!user && job.owner === user && (job.state === 'queued' || job.state === 'running');
}

export function runnerStatus(runner: IRunner): 'paused' | 'online' | 'offline' {
  if (runner.paused) {
    return 'paused';
  }
  return runner.online ? 'online' : 'offline';
}

/** "No runner online", "1 runner online", "3 runners online". */
export function onlineText(count: number): string {
  if (count === 0) {
    return 'No runner online';
  }
  return `${count} runner${count === 1 ? '' : 's'} online`;
}

/** A hub job as the "Evaluate…" panel shows a run: its events so far, and its record once
 * the runner posted it (a job that failed or was cancelled without one says why). */
export function jobAsRun(
  job: IEvalJob,
  events: Record<string, unknown>[],
  record: IEvalRecord | null
): IUiRun {
  let shown = record;
  if (!shown && isFinished(job.state) && !job.record) {
    shown = {
      id: null,
      status: job.state,
      metrics: {},
      error: { message: job.error ?? `The job was ${job.state}.` }
    };
  }
  return {
    id: String(job.id),
    status: job.state,
    events,
    next: job.last_event,
    record: shown
  };
}
