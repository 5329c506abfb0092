import { expect, test } from '@jupyterlab/galata';
import { execFileSync } from 'child_process';

import { hubState } from './helpers';

function hubCli(...args: string[]): string {
  return execFileSync('python', ['-m', 'workbench', 'hub', ...args, '--data', hubState().data], {
    encoding: 'utf-8'
  }).trim();
}

// a red and a blue pixel: the plot before and after the change
const RED = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC';
const BLUE = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGNgYPgPAAEDAQAIicLsAAAAAElFTkSuQmCC';

function notebook(a: string, b: string): string {
  const cell = (id: string, src: string, outputs: unknown[]) => ({
    id,
    cell_type: 'code',
    source: src,
    metadata: {},
    execution_count: 1,
    outputs
  });
  return JSON.stringify({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {},
    cells: [
      cell('prep', a, []),
      cell('plot', b, [
        {
          output_type: 'display_data',
          metadata: {},
          data: { 'image/png': b.includes('log') ? BLUE : RED, 'text/plain': '<Figure>' }
        },
        {
          output_type: 'display_data',
          metadata: {},
          data: {
            'text/html': `<table><tr><th>call</th></tr><tr><td>${b}</td></tr></table><script>window.__wbXss = 1</script><img src=x onerror="window.__wbXss = 2">`
          }
        }
      ])
    ]
  });
}

async function commit(token: string, repo: string, rev: string, text: string, summary: string) {
  const lines = [
    JSON.stringify({ key: 'header', value: { summary } }),
    JSON.stringify({
      key: 'file',
      value: { path: 'analysis.ipynb', content: Buffer.from(text).toString('base64'), encoding: 'base64' }
    })
  ];
  const r = await fetch(`${hubState().url}/api/models/${repo}/commit/${encodeURIComponent(rev)}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-ndjson' },
    body: lines.join('\n') + '\n'
  });
  expect(r.status, await r.text()).toBe(200);
}

// A deep link opens a pull request, not the Launcher that Galata waits for by default.
test.use({
  waitForApplication: async ({ baseURL }, use) => {
    await use(async page => {
      await page.waitForSelector('#jupyterlab-splash', { state: 'detached' });
    });
  }
});

test('a notebook pull request reviewed end to end: diff with outputs, a cell comment, request changes, a second approval, a cell-wise merge', async ({
  page,
  request
}) => {
  const tag = `${Date.now()}`.slice(-6);
  const [org, bob, carol] = [`lab-${tag}`, `bob-rev-${tag}`, `carol-rev-${tag}`];
  const repo = `${org}/analysis`;
  hubCli('user', 'create', bob);
  hubCli('user', 'create', carol);
  hubCli('org', 'create', org, '--owner', 'admin');
  hubCli('org', 'add-member', org, carol, '--role', 'write');
  const token = (user: string) => hubCli('token', 'create', 'rev', '--user', user).split('\n').pop()!;
  const [bobToken, carolToken] = [token(bob), token(carol)];
  const admin = hubCli('token', 'create', 'rev-admin').split('\n').pop()!;

  const created = await request.post('/workbench/hub/api/repos/create', {
    data: { name: 'analysis', organization: org }
  });
  expect(created.status(), await created.text()).toBe(200);
  await commit(admin, repo, 'main', notebook('x = 1', 'plot(x)'), 'first');
  const settings = await request.put(`/workbench/hub/api/models/${repo}/settings`, {
    data: { requiredApprovals: 1 }
  });
  expect(settings.status(), await settings.text()).toBe(200);

  // bob proposes a change to the plot cell; main meanwhile changes the prep cell
  const opened = await fetch(`${hubState().url}/api/models/${repo}/discussions`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${bobToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ title: 'A better plot', description: 'Log scale.', pullRequest: true })
  });
  const { num, ref } = (await opened.json()) as { num: number; ref: string };
  await commit(bobToken, repo, ref, notebook('x = 1', 'plot(x, log=True)'), 'log scale');
  await commit(admin, repo, 'main', notebook('x = 2', 'plot(x)'), 'more data');

  await page.goto(`workbench/model/${repo}/pr/${num}`);
  const pr = page.locator(`[data-testid=wb-repo][data-repo-id="${repo}"] [data-testid=wb-pr]`);
  // nbdime's own diff widget renders it; the unchanged prep cell is hidden
  const diff = pr.getByTestId('wb-cell-diff');
  await expect(diff).toHaveAttribute('data-rendered', 'true');
  await expect(diff.locator('.jp-Notebook-diff')).toHaveCount(1);
  await expect(diff.locator('[data-testid=wb-nb-cell][data-kind=unchanged]')).toBeHidden();
  const cell = diff.locator('[data-testid=wb-nb-cell]:not([data-kind=unchanged])');
  await expect(cell).toHaveCount(1);
  await expect(cell).toHaveClass(/jp-Cell-diff/);
  await expect(cell).toHaveAttribute('data-kind', 'changed');
  await expect(cell.locator('.jp-Cellrow-source')).toContainText('plot(x, log=True)');
  // outputs old beside new: the plot and the table on both sides, through the sanitizer
  const outputs = cell.locator('.jp-Cellrow-outputs');
  const images = outputs.locator('img[src^="data:image/png"]');
  await expect(images).toHaveCount(2);
  const [before, after] = [await images.nth(0).boundingBox(), await images.nth(1).boundingBox()];
  expect(before && after && Math.abs(before.x - after.x) > 100).toBeTruthy();
  const tables = outputs.locator('table');
  await expect(tables).toHaveCount(2);
  await expect(outputs).toContainText('plot(x, log=True)');
  await expect(outputs.locator('script')).toHaveCount(0);
  await expect(outputs.locator('img[onerror]')).toHaveCount(0);
  expect(await page.evaluate(() => (window as unknown as { __wbXss?: number }).__wbXss)).toBeUndefined();

  // "ignore outputs" takes them out of the diff and stays so after a reload
  await pr.getByTestId('wb-diff-ignore-outputs').check();
  await expect(diff).toHaveAttribute('data-rendered', 'true');
  await expect(cell.locator('.jp-Cellrow-source')).toContainText('plot(x, log=True)');
  await expect(cell.locator('.jp-Cellrow-outputs')).toHaveCount(0);
  await page.goto(`workbench/model/${repo}/pr/${num}`);
  await expect(diff).toHaveAttribute('data-rendered', 'true', { timeout: 60000 });
  await expect(pr.getByTestId('wb-diff-ignore-outputs')).toBeChecked();
  await expect(cell.locator('.jp-Cellrow-outputs')).toHaveCount(0);
  await pr.getByTestId('wb-diff-ignore-outputs').uncheck();
  await expect(images).toHaveCount(2);
  await expect(cell.getByTestId('wb-nb-output-comment')).toHaveCount(1);

  // a comment on the cell, then "request changes"
  await cell.getByTestId('wb-nb-cell-comment').click();
  await page.locator('.jp-Dialog input').fill('Label the y axis');
  await page.locator('.jp-Dialog').getByRole('button', { name: 'Ok' }).click();
  const thread = pr.getByTestId('wb-review-thread');
  await expect(thread).toContainText('Label the y axis');
  await expect(thread).toContainText('analysis.ipynb, cell 1 (new)');
  await pr.getByTestId('wb-review-summary').fill('Almost: see the cell comment.');
  await pr.getByTestId('wb-review-request-changes').click();
  await expect(pr.locator('[data-testid=wb-review][data-author=admin]')).toHaveAttribute(
    'data-state',
    'request_changes'
  );
  await expect(pr.getByTestId('wb-approvals')).toContainText('0 approvals of 1 required');

  // merging now is refused with the hub's reason
  await pr.getByTestId('wb-pr-merge').click();
  await expect(page.locator('[data-testid=wb-thread] [data-testid=wb-error]')).toContainText('needs 1 approving review');

  // bob answers in the thread and resolves it; carol, a writer, approves
  const [threadId] = ((await (await request.get(
    `/workbench/hub/api/models/${repo}/discussions/${num}/review-comments`
  )).json()) as { threads: { id: string; comments: { id: string }[] }[] }).threads.map(t => t.comments[0].id);
  const replied = await fetch(`${hubState().url}/api/models/${repo}/discussions/${num}/review-comments`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${bobToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ inReplyTo: threadId, body: 'Labelled.' })
  });
  expect(replied.status).toBe(200);
  const approved = await fetch(`${hubState().url}/api/models/${repo}/discussions/${num}/reviews`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${carolToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ state: 'approve', summary: 'Looks good.' })
  });
  expect(approved.status, await approved.text()).toBe(200);

  // back in the lab: resolve the thread, see carol's approval, merge cell by cell
  await page.goto(`workbench/model/${repo}/pr/${num}`);
  await expect(thread).toContainText('Labelled.');
  await thread.getByTestId('wb-review-resolve').click();
  await expect(thread).toHaveAttribute('data-resolved', 'true');
  await expect(pr.getByTestId('wb-approvals')).toContainText(`1 approval of 1 required (${carol})`);
  await pr.getByTestId('wb-pr-merge').click();
  await expect(page.getByTestId('wb-thread')).toContainText('merged');
  const merged = await (await request.get(`/workbench/hub/${repo}/resolve/main/analysis.ipynb`)).json();
  const sources = (merged.cells as { source: string | string[] }[]).map(c =>
    Array.isArray(c.source) ? c.source.join('') : c.source
  );
  expect(sources).toEqual(['x = 2', 'plot(x, log=True)']); // both sides' cells kept
});
