import { runProgress } from '../components/EvalTab';
import { canCancel, isFinished, jobAsRun, onlineText, queueText, runnerStatus } from '../runners';
import { IEvalJob, IRunner } from '../tokens';

function job(over: Partial<IEvalJob> = {}): IEvalJob {
  return {
    id: 7,
    state: 'queued',
    owner: 'alice',
    spec: { model: 'alice/m', dataset: 'alice/d' },
    requires: [],
    runner: null,
    record: null,
    error: null,
    created_at: new Date().toISOString(),
    events: [],
    last_event: 0,
    queue_position: 0,
    ...over
  };
}

function runner(over: Partial<IRunner> = {}): IRunner {
  return {
    name: 'box',
    labels: [],
    paused: false,
    online: true,
    last_seen: null,
    jobs: [],
    ...over
  };
}

describe('runner views', () => {
  it('says where a queued job stands, and nothing once it runs', () => {
    expect(queueText(0)).toBe('Queued: next in line');
    expect(queueText(1)).toBe('Queued: 1 job ahead');
    expect(queueText(3)).toBe('Queued: 3 jobs ahead');
    expect(queueText(null)).toBe('');
  });

  it('lets only the owner cancel, and only a queued or running job', () => {
    expect(canCancel(job(), 'alice')).toBe(true);
    expect(canCancel(job({ state: 'running' }), 'alice')).toBe(true);
    expect(canCancel(job(), 'bob')).toBe(false);
    expect(canCancel(job(), null)).toBe(false);
    for (const state of ['succeeded', 'failed', 'cancelled'] as const) {
      expect(canCancel(job({ state }), 'alice')).toBe(false);
      expect(isFinished(state)).toBe(true);
    }
    expect(isFinished('running')).toBe(false);
  });

  it('names a runner status and counts online runners', () => {
    expect(runnerStatus(runner())).toBe('online');
    expect(runnerStatus(runner({ online: false }))).toBe('offline');
    expect(runnerStatus(runner({ paused: true }))).toBe('paused');
    expect(onlineText(0)).toBe('No runner online');
    expect(onlineText(1)).toBe('1 runner online');
    expect(onlineText(2)).toBe('2 runners online');
  });

  it('reads a job as a run: its record, or why it has none', () => {
    const events = [{ event: 'leased', runner: 'box' }];
    const running = jobAsRun(job({ state: 'running', last_event: 4 }), events, null);
    expect(running).toEqual({ id: '7', status: 'running', events, next: 4, record: null });
    const record = {
      id: 'r1',
      status: 'succeeded',
      metrics: { accuracy: 1 },
      error: null,
      verified: true
    };
    expect(jobAsRun(job({ state: 'succeeded', record: 'r1' }), [], record).record).toBe(record);
    expect(jobAsRun(job({ state: 'succeeded', record: 'r1' }), [], null).record).toBeNull();
    const cancelled = jobAsRun(job({ state: 'cancelled', error: 'Cancelled by alice.' }), [], null);
    expect(cancelled.record).toEqual({
      id: null,
      status: 'cancelled',
      metrics: {},
      error: { message: 'Cancelled by alice.' }
    });
  });

  it('follows a runner through a job in the progress bar', () => {
    expect(runProgress([{ event: 'leased', runner: 'box' }]).label).toBe('Started on runner box…');
    const cells = [
      { event: 'leased', runner: 'box' },
      { event: 'cell_start', index: 1, total: 2, name: 'wb.report(...)' }
    ];
    expect(runProgress(cells)).toEqual({ fraction: 0.5, label: 'Cell 2 of 2: wb.report(...)' });
    expect(runProgress([...cells, { event: 'released' }]).label).toBe('Handed back to the queue');
    expect(runProgress([...cells, { event: 'failed', error: 'gone' }]).label).toBe('Failed: gone');
  });
});
