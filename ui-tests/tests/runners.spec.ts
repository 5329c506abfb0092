/**
 * "Evaluate…" on the hub's runners: a real `workbench runner` process (started by
 * hub_control.py) leases the job the lab queues; the lab shows its place in the queue, the
 * runner's progress and the verified record; an admin pauses, resumes and removes the runner.
 */
import { expect, test } from '@jupyterlab/galata';
import { execFileSync } from 'child_process';
import * as path from 'path';

import { openRepo } from './helpers';

const CONTROL = path.join(__dirname, '..', 'hub_control.py');
const RUNNER = 'galata-box';
const MODEL = 'admin/tiny-classifier';

function control(...args: string[]): void {
  execFileSync('python', [CONTROL, ...args], { stdio: 'inherit' });
}

test.describe('Workbench runners', () => {
  test.afterAll(() => control('runner-stop', RUNNER));

  test('Evaluate… queues on a runner: queue position, progress, verified record', async ({
    page,
    request
  }) => {
    test.setTimeout(480000);
    control('runner-start', RUNNER);
    // online once it has asked the hub for a job
    await expect
      .poll(
        async () => (await (await request.get('/workbench/hub/api/runners/online')).json()).online,
        { timeout: 60000 }
      )
      .toBe(1);

    await openRepo(page, MODEL);
    await page.getByTestId('wb-evaluate').click();
    await expect(page.getByTestId('wb-eval-dataset')).toHaveValue('admin/iris-mini');
    await expect(page.getByTestId('wb-eval-on-runner')).toBeChecked();
    await expect(page.getByTestId('wb-eval-runners')).toHaveText('1 runner online');
    const runner = page.locator(`[data-testid=wb-runners-table] tr[data-runner="${RUNNER}"]`);
    await expect(runner.getByTestId('wb-runner-status')).toHaveText('online');

    // paused by the admin, the runner leases nothing: jobs wait in the queue
    await runner.getByTestId('wb-runner-pause').click();
    await expect(runner.getByTestId('wb-runner-status')).toHaveText('paused');
    await expect(runner.getByTestId('wb-runner-pause')).toHaveText('Resume');
    const ahead = await request.post('/workbench/hub/api/eval-jobs', {
      data: { model: MODEL, dataset: 'admin/iris-mini' }
    });
    expect(ahead.status()).toBe(201);
    const aheadId = (await ahead.json()).id as number;
    await page.getByTestId('wb-eval-metrics').fill('accuracy');
    await page.getByTestId('wb-eval-start').click();
    const run = page.getByTestId('wb-eval-run');
    await expect(run).toHaveAttribute('data-status', 'queued');
    await expect(page.getByTestId('wb-eval-queue')).toContainText('Queued: 1 job ahead');

    // the Jobs list: the job ahead, cancelled there by its owner
    const aheadRow = page.locator(`[data-testid=wb-jobs-table] tr[data-job="${aheadId}"]`);
    await expect(aheadRow.getByTestId('wb-job-state')).toHaveText('queued (Queued: next in line)');
    await aheadRow.getByTestId('wb-job-cancel').click();
    await expect(aheadRow.getByTestId('wb-job-state')).toHaveText('cancelled');
    await expect(aheadRow.getByTestId('wb-job-cancel')).toHaveCount(0);
    await expect(page.getByTestId('wb-eval-queue')).toContainText('Queued: next in line');

    // resumed, the runner takes the job and runs it cell by cell
    await runner.getByTestId('wb-runner-pause').click();
    await expect(runner.getByTestId('wb-runner-status')).toHaveText('online');
    await expect(run).toHaveAttribute('data-status', 'running', { timeout: 60000 });
    await expect(page.getByTestId('wb-eval-queue')).toHaveCount(0);
    await expect(page.getByTestId('wb-eval-events')).toContainText(`leased runner=${RUNNER}`);
    await expect(page.getByTestId('wb-eval-events')).toContainText('cell_start', { timeout: 120000 });
    await expect(run).toHaveAttribute('data-status', 'succeeded', { timeout: 300000 });
    await expect(page.getByTestId('wb-eval-progress')).toHaveAttribute('data-percent', '100');
    await expect(page.getByTestId('wb-eval-verified')).toHaveText(`verified by ${RUNNER}`);
    await expect(page.getByTestId('wb-eval-result')).toContainText('accuracy');
    const href = await page.getByTestId('wb-eval-record').getAttribute('href');
    const record = await (await page.request.get(href!)).json();
    expect(record.verified).toBe(true);
    expect(record.verified_by).toBe(RUNNER);
    expect(record.model).toBe(MODEL);
    const ours = page.locator('[data-testid=wb-jobs-table] tr').filter({ hasText: record.id.slice(0, 10) });
    await expect(ours.getByTestId('wb-job-state')).toHaveText('succeeded');
    const listed = page.locator(`[data-testid=wb-eval-runs] tr[data-run="${record.id}"]`);
    await expect(listed.getByTestId('wb-eval-run-verified')).toHaveText(`verified (${RUNNER})`);

    // an admin pauses the runner, then removes it
    await runner.getByTestId('wb-runner-pause').click();
    await expect(runner.getByTestId('wb-runner-status')).toHaveText('paused');
    const online = await (await request.get('/workbench/hub/api/runners/online')).json();
    expect(online.online).toBe(0);
    page.once('dialog', dialog => void dialog.accept());
    await runner.getByTestId('wb-runner-remove').click();
    await expect(runner).toHaveCount(0);
  });
});
