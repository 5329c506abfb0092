import { expect, test } from '@jupyterlab/galata';
import * as path from 'path';

import { commitFiles, hubToken, openRepo, openSidebar, search } from './helpers';

const IMG = path.join(__dirname, '..', '..', 'docs', 'img');

/** A notebook of code cells without outputs, as JSON. */
function codeNotebook(cells: string[]): string {
  return JSON.stringify({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {},
    cells: cells.map(src => ({ cell_type: 'code', source: src, metadata: {}, outputs: [], execution_count: null }))
  });
}

test.describe('Workbench sidebar and repo pages', () => {
  test('the extension is loaded and the status bar names the hub', async ({ page }) => {
    expect(await page.evaluate(() => window.jupyterapp.hasPlugin('workbench:plugin'))).toBe(true);
    const status = page.getByTestId('wb-status');
    await expect(status).toHaveAttribute('data-reachable', 'true');
    await expect(status).toContainText('http://127.0.0.1:');
  });

  test('search with type tabs, filters and sorting', async ({ page }) => {
    await openSidebar(page);
    const results = page.getByTestId('wb-result');
    await expect(results.first()).toBeVisible();
    await search(page, 'iris');
    await expect(page.locator('[data-testid=wb-result][data-repo-id="admin/iris-mini"]')).toBeVisible();
    await page.getByTestId('wb-tab-dataset').click();
    await expect(results).toHaveCount(1);
    await expect(results.first()).toHaveAttribute('data-repo-type', 'dataset');
    await expect(results.first().getByTestId('wb-downloads')).toBeVisible();
    await expect(results.first().getByTestId('wb-likes')).toBeVisible();
    await expect(results.first().getByTestId('wb-updated')).toContainText('ago');
    await page.getByTestId('wb-tab-paper').click();
    await expect(results).toHaveCount(1);
    await expect(results.first()).toHaveAttribute('data-repo-id', 'admin/tiny-classifier-paper');
    await page.getByTestId('wb-tab-all').click();
    await search(page, '');
    await page.locator('.wb-Filters summary').click();
    await page.getByTestId('wb-filter-license').fill('apache-2.0');
    await expect(results).toHaveCount(1);
    await expect(results.first()).toHaveAttribute('data-repo-id', 'admin/tiny-classifier');
    await page.getByTestId('wb-filter-license').fill('');
    await page.getByTestId('wb-sort').selectOption('lastModified');
    await expect(page.getByTestId('wb-count')).toContainText('result');
    await page.getByTestId('wb-filter-author').fill('nobody-has-this-name');
    await expect(results).toHaveCount(0);
    await expect(page.getByTestId('wb-count')).toHaveText('0 results');
    await page.getByTestId('wb-filter-author').fill('');
    await search(page, 'tiny');
    await expect(results.first()).toBeVisible();
    await page.screenshot({ path: path.join(IMG, 'sidebar.png') });
  });

  test('repo page: card, files with sizes, history, branches and tags', async ({ page }) => {
    await openRepo(page, 'admin/tiny-classifier');
    const repo = page.getByTestId('wb-repo');
    await expect(repo.getByTestId('wb-card')).toHaveAttribute('data-rendered', 'true');
    await expect(repo.getByTestId('wb-card')).toContainText('TinyMLP');
    await page.screenshot({ path: path.join(IMG, 'repo-page.png') });
    await repo.getByTestId('wb-repo-tab-files').click();
    await expect(repo.locator('[data-testid=wb-files] tr[data-path="config.json"]')).toContainText('B');
    await expect(repo.locator('[data-testid=wb-files] tr[data-path="model.safetensors"]')).toBeVisible();
    await repo.getByTestId('wb-repo-tab-history').click();
    await expect(repo.locator('[data-testid=wb-history] tbody tr').first()).toBeVisible();
    await repo.getByTestId('wb-repo-tab-refs').click();
    await expect(repo.getByTestId('wb-branches')).toContainText('main');
    // Closing the tab and opening the repo again gives a fresh page.
    await page.locator('.lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabCloseIcon').click();
    await expect(page.getByTestId('wb-repo')).toHaveCount(0);
    await page.locator('[data-testid=wb-result][data-repo-id="admin/tiny-classifier"] .wb-Result-open').click();
    await expect(page.getByTestId('wb-card')).toHaveAttribute('data-rendered', 'true');
  });

  test('history diff shows notebooks cell by cell', async ({ page, request }) => {
    await commitFiles(request, 'model', 'nb-diff', { 'analysis.ipynb': codeNotebook(['x = 1', 'print(x)']) }, 'first notebook');
    await commitFiles(request, 'model', 'nb-diff', { 'analysis.ipynb': codeNotebook(['x = 2', 'print(x)', 'y = x * 2']) }, 'second notebook');
    await openRepo(page, 'admin/nb-diff');
    const repo = page.getByTestId('wb-repo');
    await repo.getByTestId('wb-repo-tab-history').click();
    await expect(repo.locator('[data-testid=wb-history] .wb-CommitTitle').first()).toHaveText('second notebook');
    await repo.getByTestId('wb-diff-show').click();
    // nbdime's diff widget on the hub's nbdime diff; unchanged cells hidden
    const diff = repo.getByTestId('wb-cell-diff');
    await expect(diff).toHaveAttribute('data-rendered', 'true');
    await expect(diff.locator('.jp-Notebook-diff')).toHaveCount(1);
    const cells = diff.locator('[data-testid=wb-nb-cell]:visible');
    await expect(cells).toHaveCount(2);
    await expect(cells.nth(0)).toHaveAttribute('data-kind', 'changed');
    await expect(cells.nth(0)).toContainText('x = 1');
    await expect(cells.nth(0)).toContainText('x = 2');
    await expect(cells.nth(1)).toHaveAttribute('data-kind', 'added');
    await expect(cells.nth(1)).toContainText('y = x * 2');
    // "hide unchanged cells" off shows the print cell too
    await repo.getByTestId('wb-diff-hide-unchanged').uncheck();
    await expect(cells).toHaveCount(3);
    await expect(diff.locator('[data-testid=wb-nb-cell][data-kind=unchanged]')).toContainText('print(x)');
    await repo.getByTestId('wb-diff-hide-unchanged').check();
    await expect(cells).toHaveCount(2);
    await expect(repo.getByTestId('wb-diff')).not.toContainText('"nbformat"');
  });

  test('a large notebook diff draws the cells in view first and the rest as they scroll near', async ({
    page,
    request
  }) => {
    const n = 120;
    const before = Array.from({ length: n }, (_, i) => `step_${i} = ${i}`);
    const after = Array.from({ length: n }, (_, i) => `step_${i} = ${i} * 2`);
    await commitFiles(request, 'model', 'nb-big-diff', { 'big.ipynb': codeNotebook(before) }, 'first');
    await commitFiles(request, 'model', 'nb-big-diff', { 'big.ipynb': codeNotebook(after) }, 'every cell');
    await openRepo(page, 'admin/nb-big-diff');
    const repo = page.getByTestId('wb-repo');
    await repo.getByTestId('wb-repo-tab-history').click();
    await expect(repo.locator('[data-testid=wb-history] .wb-CommitTitle').first()).toHaveText('every cell');
    await repo.getByTestId('wb-diff-show').click();
    const diff = repo.getByTestId('wb-cell-diff');
    await expect(diff).toHaveAttribute('data-rendered', 'true');
    // the first cells are nbdime's, the far ones stand-ins until they come near
    await expect(diff.locator('[data-testid=wb-nb-cell][data-index="0"]')).toContainText('step_0 = 0 * 2');
    const pending = diff.locator('.wb-NbdimeDiff-pending');
    expect(await pending.count()).toBeGreaterThan(0);
    expect(await diff.locator('[data-testid=wb-nb-cell]').count()).toBeLessThan(n);
    // scrolling to the end draws them, named and in order like the others
    const last = diff.locator(`[data-testid=wb-nb-cell][data-index="${n - 1}"]`);
    await expect(async () => {
      await pending.last().scrollIntoViewIfNeeded();
      await expect(last).toHaveCount(1, { timeout: 1000 });
    }).toPass({ timeout: 30000 });
    await expect(last).toHaveAttribute('data-kind', 'changed');
    await expect(last).toContainText(`step_${n - 1} = ${n - 1} * 2`);
  });

  test('a notebook that is not valid JSON diffs as text with a notice', async ({ page, request }) => {
    const nb = JSON.stringify({ nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [] });
    await commitFiles(request, 'model', 'nb-broken', { 'broken.ipynb': nb }, 'a notebook');
    await commitFiles(request, 'model', 'nb-broken', { 'broken.ipynb': '{"cells": [oops' }, 'broken it');
    await openRepo(page, 'admin/nb-broken');
    const repo = page.getByTestId('wb-repo');
    await repo.getByTestId('wb-repo-tab-history').click();
    await expect(repo.locator('[data-testid=wb-history] .wb-CommitTitle').first()).toHaveText('broken it');
    await repo.getByTestId('wb-diff-show').click();
    await expect(repo.getByTestId('wb-diff-notice')).toContainText('is not valid JSON');
    await expect(repo.locator('.wb-LineDiff')).toContainText('{"cells": [oops');
    await expect(repo.locator('.jp-Notebook-diff')).toHaveCount(0);
  });

  test('Open in Binder for a notebook whose source is on a Git host', async ({ page, request }) => {
    const card = '---\nsource:\n  repo: https://github.com/acme/research\n  ref: v2\n  path: nb/train.ipynb\n---\n# From GitHub\n';
    await commitFiles(request, 'model', 'from-github', { 'README.md': card }, 'card with a source');
    await openRepo(page, 'admin/from-github');
    await expect(page.getByTestId('wb-binder')).toHaveAttribute(
      'href',
      'https://mybinder.org/v2/gh/acme/research/v2?urlpath=lab/tree/nb/train.ipynb'
    );
    await openRepo(page, 'admin/tiny-classifier');
    const tiny = page.locator('[data-testid=wb-repo][data-repo-id="admin/tiny-classifier"]');
    await expect(tiny.getByTestId('wb-card')).toHaveAttribute('data-rendered', 'true');
    await expect(tiny.getByTestId('wb-binder')).toHaveCount(0);
  });

  test('dataset viewer grid with search, filter and histograms', async ({ page }) => {
    await openRepo(page, 'admin/iris-mini');
    const repo = page.getByTestId('wb-repo');
    await repo.getByTestId('wb-repo-tab-viewer').click();
    const grid = repo.getByTestId('wb-grid');
    await expect(grid.locator('tbody tr').first()).toBeVisible({ timeout: 60000 });
    await expect(grid.locator('thead')).toContainText('species');
    await expect(repo.locator('[data-testid=wb-histogram]').first()).toBeVisible();
    await repo.getByTestId('wb-viewer-filter').fill("species = 'virginica'");
    await repo.getByTestId('wb-viewer-apply').click();
    await expect(repo.getByTestId('wb-viewer-count')).toContainText('of 40');
    const species = grid.locator('tbody tr td:last-child');
    expect(new Set(await species.allTextContents())).toEqual(new Set(['virginica']));
    await repo.getByTestId('wb-viewer-filter').fill('');
    await repo.getByTestId('wb-viewer-search').fill('setosa');
    await repo.getByTestId('wb-viewer-apply').click();
    await expect(repo.getByTestId('wb-viewer-count')).toContainText('of 40');
    await repo.getByTestId('wb-viewer-search').fill('');
    await repo.getByTestId('wb-viewer-filter').fill('no_such_column > 1');
    await repo.getByTestId('wb-viewer-apply').click();
    await expect(repo.getByTestId('wb-error')).toContainText('no_such_column');
  });

  test('paper page shows the abstract, the repos it links and the models citing it', async ({ page, request }) => {
    // A model whose card cites the paper (by its repo id): the paper's own card does not name it.
    const card = '---\nlicense: mit\npapers:\n- admin/tiny-classifier-paper\n---\n# Builds on TinyMLP\n';
    await commitFiles(request, 'model', 'cites-tinymlp', { 'README.md': card }, 'cite the TinyMLP paper');
    await openRepo(page, 'admin/tiny-classifier-paper');
    const paper = page.getByTestId('wb-paper');
    await expect(paper).toContainText('TinyMLP: A Minimal Tabular Classifier');
    await expect(paper.getByTestId('wb-abstract')).toContainText('We describe TinyMLP');
    await expect(paper.getByTestId('wb-paper-links')).not.toContainText('admin/cites-tinymlp');
    const citing = paper.locator('[data-testid=wb-paper-cited-by] button[data-repo-id="admin/cites-tinymlp"]');
    await expect(citing).toHaveAttribute('data-repo-type', 'model');
    await citing.click();
    const model = page.locator('[data-testid=wb-repo][data-repo-id="admin/cites-tinymlp"]');
    await expect(model.getByTestId('wb-card')).toContainText('Builds on TinyMLP');
    await page.locator('.lm-DockPanel-tabBar .lm-TabBar-tab', { hasText: 'admin/tiny-classifier-paper' }).click();
    await paper.getByTestId('wb-paper-links').getByText('admin/iris-mini').click();
    await expect(page.locator('[data-testid=wb-repo][data-repo-id="admin/iris-mini"]')).toBeVisible();
  });

  test('insert load code pinned to the commit, then run it in the kernel', async ({ page }) => {
    await page.notebook.createNew('load.ipynb');
    await openRepo(page, 'admin/iris-mini');
    const commit = (await page.getByTestId('wb-commit').textContent())!.trim();
    expect(commit).toMatch(/^[0-9a-f]{40}$/);
    await page.getByTestId('wb-insert-load-code').click();
    await page.notebook.activate('load.ipynb');
    const source = await page.notebook.getCellTextInput(1);
    expect(source).toContain(`wb.load_dataset("admin/iris-mini", revision="${commit}")`);
    // The kernel finds the hub through the environment the server extension set: no arguments.
    await page.notebook.runCell(1);
    await expect
      .poll(async () => ((await page.notebook.getCellTextOutput(1)) ?? []).join('\n'), { timeout: 90000 })
      .toContain('num_rows: 120');
    await page.screenshot({ path: path.join(IMG, 'load-code.png') });
  });
});

test.describe('Workbench security', () => {
  const PAYLOADS = [
    '<script>window.__xss = "script"</script>',
    '<img src="x" onerror="window.__xss = \'img\'">',
    '<svg onload="window.__xss = \'svg\'"><circle r="5"></circle></svg>',
    '<a id="xss-a" href="javascript:window.__xss=\'a\'">html link</a>',
    '[markdown link](javascript:window.__xss=\'md\')',
    '<iframe src="javascript:window.__xss=\'iframe\'"></iframe>',
    '<div onmouseover="window.__xss=\'hover\'">hover me</div>'
  ].join('\n\n');

  test('XSS payloads in a card and a paper abstract stay inert', async ({ page, request }) => {
    const dialogs: string[] = [];
    page.on('dialog', d => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await commitFiles(request, 'model', 'xss-card', { 'README.md': `---\nlicense: mit\n---\n# XSS card\n\n${PAYLOADS}\n` }, 'payloads');
    const abstract = PAYLOADS.replace(/\n\n/g, ' ');
    await commitFiles(
      request,
      'paper',
      'xss-paper',
      { 'README.md': `---\ntitle: XSS paper\nauthors: [Mallory]\nabstract: ${JSON.stringify(abstract)}\n---\n# XSS paper\n\n${PAYLOADS}\n` },
      'payloads'
    );
    await openRepo(page, 'admin/xss-card');
    const card = page.getByTestId('wb-card');
    await expect(card).toHaveAttribute('data-rendered', 'true');
    await expect(card).toContainText('XSS card');
    for (const link of await card.locator('a').all()) {
      await link.click({ force: true, noWaitAfter: true }).catch(() => undefined);
    }
    await card.getByText('hover me').hover().catch(() => undefined);
    expect(await card.locator('script, iframe, [onerror], [onload], [onmouseover]').count()).toBe(0);
    expect(await card.locator('a[href^="javascript"]').count()).toBe(0);

    await openRepo(page, 'admin/xss-paper');
    const abstractNode = page.getByTestId('wb-abstract');
    await expect(abstractNode).toHaveAttribute('data-rendered', 'true');
    expect(await abstractNode.locator('script, iframe, [onerror], [onload], [onmouseover]').count()).toBe(0);
    await page.waitForTimeout(500); // give any planted handler the chance to fire
    expect(await page.evaluate(() => (window as unknown as { __xss?: string }).__xss)).toBeUndefined();
    expect(dialogs).toEqual([]);
  });

  test('the hub token never reaches the browser', async ({ page, request }) => {
    const token = hubToken();
    expect(token.length).toBeGreaterThan(20);
    const leaks: string[] = [];
    page.on('response', async response => {
      const headers = JSON.stringify(await response.allHeaders());
      const body = await response.body().catch(() => Buffer.from(''));
      if (headers.includes(token) || body.includes(token)) {
        leaks.push(response.url());
      }
    });
    await openRepo(page, 'admin/iris-mini');
    await page.getByTestId('wb-repo-tab-files').click();
    await page.getByTestId('wb-repo-tab-viewer').click();
    await expect(page.getByTestId('wb-grid').locator('tbody tr').first()).toBeVisible({ timeout: 60000 });
    for (const url of ['/workbench/status', '/workbench/hub/api/whoami-v2', '/workbench/hub/api/search?q=tiny']) {
      const r = await request.get(url);
      expect(r.status()).toBe(200);
      expect(await r.text()).not.toContain(token);
      expect(JSON.stringify(r.headers())).not.toContain(token);
    }
    const xet = await request.get('/workbench/hub/api/models/admin/tiny-classifier/xet-read-token/main');
    expect(xet.status()).toBe(403);
    expect(await page.content()).not.toContain(token);
    expect(leaks).toEqual([]);
  });
});

test.describe('Workbench evaluation', () => {
  test('Evaluate… runs with live progress, links its record, and feeds the leaderboard', async ({ page }) => {
    await openRepo(page, 'admin/tiny-classifier');
    await page.getByTestId('wb-evaluate').click();
    await expect(page.getByTestId('wb-eval-dataset')).toHaveValue('admin/iris-mini');
    await page.getByTestId('wb-eval-metrics').fill('accuracy');
    await page.getByTestId('wb-eval-start').click();
    const run = page.getByTestId('wb-eval-run');
    await expect(page.getByTestId('wb-eval-events')).toContainText('resolve', { timeout: 30000 });
    // a progress bar names the cell that runs, e.g. "Cell 5 of 12: net = wb.load_model(...)"
    await expect(page.getByTestId('wb-eval-step')).toContainText(/Cell \d+ of \d+: \S/, { timeout: 120000 });
    await expect(run).toHaveAttribute('data-status', 'succeeded', { timeout: 240000 });
    await expect(page.getByTestId('wb-eval-progress')).toHaveAttribute('data-percent', '100');
    await expect(page.getByTestId('wb-eval-step')).toHaveText('Done');
    await expect(page.getByTestId('wb-eval-events')).toContainText('done');
    await expect(page.getByTestId('wb-eval-result')).toContainText('accuracy');
    const href = await page.getByTestId('wb-eval-record').getAttribute('href');
    expect(href).toMatch(/\/workbench\/hub\/api\/evals\/[\w-]+$/);
    const record = await page.request.get(href!);
    expect(record.status()).toBe(200);
    expect((await record.json()).model).toBe('admin/tiny-classifier');
    await expect(page.locator('[data-testid=wb-eval-runs] tbody tr').first()).toBeVisible();
    await page.screenshot({ path: path.join(IMG, 'evaluation.png') });

    await openRepo(page, 'admin/iris-mini');
    const dataset = page.locator('[data-testid=wb-repo][data-repo-id="admin/iris-mini"]');
    await dataset.getByTestId('wb-repo-tab-evals').click();
    const chart = dataset.getByTestId('wb-leaderboard-chart');
    await expect(chart).toContainText('admin/tiny-classifier');
  });
});

test.describe('Workbench publishing', () => {
  test('Publish notebook… lists the inputs the notebook loaded and commits it', async ({ page }) => {
    await page.notebook.createNew('publish-me.ipynb');
    await page.notebook.setCell(0, 'code', 'import workbench as wb\nds = wb.load_dataset("admin/iris-mini", split="test")\nds.num_rows');
    await page.notebook.runCell(0);
    await expect
      .poll(async () => ((await page.notebook.getCellTextOutput(0)) ?? []).join('\n'), { timeout: 90000 })
      .toContain('30');
    void page.evaluate(() => window.jupyterapp.commands.execute('workbench:publish-notebook'));
    const dialog = page.locator('.jp-Dialog');
    await expect(dialog.getByTestId('wb-publish-inputs')).toContainText('dataset admin/iris-mini @');
    await dialog.getByTestId('wb-publish-repo').fill('admin/published-notebook');
    await dialog.getByTestId('wb-publish-message').fill('First analysis');
    await dialog.getByRole('button', { name: 'Publish' }).click();
    await expect(page.locator('.jp-Dialog')).toContainText('admin/published-notebook at commit', { timeout: 60000 });
    await page.locator('.jp-Dialog').getByRole('button', { name: 'Open repo' }).click();
    const repo = page.locator('[data-testid=wb-repo][data-repo-id="admin/published-notebook"]');
    await repo.getByTestId('wb-repo-tab-files').click();
    await expect(repo.locator('[data-testid=wb-files] tr[data-path="publish-me.ipynb"]')).toBeVisible();
    await repo.getByTestId('wb-repo-tab-history').click();
    await expect(repo.locator('[data-testid=wb-history] .wb-CommitTitle').first()).toHaveText('First analysis');
    const card = await page.request.get('/workbench/hub/admin/published-notebook/resolve/main/README.md');
    expect(await card.text()).toContain('admin/iris-mini');

    // Comment on cell, from the cell's context menu; the comment shows under the cell,
    // its markdown rendered and its HTML made inert.
    await page.notebook.activate('publish-me.ipynb');
    await page.notebook.selectCells(0);
    await page.locator('.jp-Notebook .jp-Cell').first().locator('.jp-InputPrompt').click({ button: 'right' });
    await page.locator('.lm-Menu-item', { hasText: 'Workbench: Comment on Cell…' }).click();
    const input = page.locator('.jp-Dialog input');
    await input.fill('Looks right **to me** <img src=x onerror="window.__xss=1">');
    await page.locator('.jp-Dialog').getByRole('button', { name: 'Ok' }).click();
    const comments = page.locator('.jp-Notebook .jp-Cell').first().locator('[data-testid=wb-cell-comments]');
    await expect(comments).toContainText('Looks right', { timeout: 30000 });
    await expect(comments.locator('strong')).toHaveText('to me');
    expect(await comments.locator('img[onerror]').count()).toBe(0);
    await page.screenshot({ path: path.join(IMG, 'cell-comment.png') });

    // The same command from the cell toolbar (the button the plugin's settings schema adds).
    await page.notebook.selectCells(0);
    const button = page
      .locator('.jp-Notebook .jp-Cell')
      .first()
      .locator('.jp-cell-toolbar [data-command="workbench:comment-cell"]');
    await expect(button).toBeVisible();
    await button.click();
    await page.locator('.jp-Dialog input').fill('Second look, *from the toolbar*');
    await page.locator('.jp-Dialog').getByRole('button', { name: 'Ok' }).click();
    await expect(comments).toContainText('Second look', { timeout: 30000 });
    await expect(comments.locator('.wb-CellComment')).toHaveCount(2);
    await expect(comments.locator('em')).toHaveText('from the toolbar');
    const stored = await page.request.get('/workbench/hub/api/models/admin/published-notebook/comments?path=publish-me.ipynb');
    const contents = ((await stored.json()).cells[0].comments as { content: string }[]).map(c => c.content);
    expect(contents[0]).toContain('Looks right');
    expect(contents[1]).toContain('from the toolbar');
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();

    // A colleague's comment arrives while the notebook is open: shown on coming back to it.
    const cellId = (await stored.json()).cells[0].cell as string;
    const threads = await (
      await page.request.get('/workbench/hub/api/models/admin/published-notebook/discussions')
    ).json();
    const thread = (threads.discussions as { num: number; title: string }[]).find(d =>
      d.title.includes('publish-me.ipynb')
    )!;
    const posted = await page.request.post(
      `/workbench/hub/api/models/admin/published-notebook/discussions/${thread.num}/comment`,
      { data: { comment: 'Third, from elsewhere', anchor: { path: 'publish-me.ipynb', cell: cellId } } }
    );
    expect(posted.status(), await posted.text()).toBe(200);
    await page.waitForTimeout(3500); // past the throttle of the last refresh
    await page.getByRole('tab', { name: 'admin/published-notebook' }).click(); // away, and back
    await page.notebook.activate('publish-me.ipynb');
    await expect(comments.locator('.wb-CellComment')).toHaveCount(3, { timeout: 15000 });
    await expect(comments).toContainText('Third, from elsewhere');
  });
});

test.describe('Workbench discussions', () => {
  test('open a discussion, comment, and comments with payloads stay inert', async ({ page }) => {
    const dialogs: string[] = [];
    page.on('dialog', d => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await openRepo(page, 'admin/iris-mini');
    const repo = page.getByTestId('wb-repo');
    await repo.getByTestId('wb-repo-tab-discussions').click();
    await repo.getByTestId('wb-new-title').fill('Label noise in the test split?');
    await repo.getByTestId('wb-new-body').fill('Row 7 looks **mislabeled**.');
    await repo.getByTestId('wb-new-open').click();
    const thread = repo.getByTestId('wb-thread');
    await expect(thread).toContainText('Label noise in the test split?');
    await expect(thread.getByTestId('wb-event-body').first().locator('strong')).toHaveText('mislabeled');
    await thread.getByTestId('wb-comment-box').fill(
      'Checked. <img src=x onerror="window.__xss=\'comment\'"> [link](javascript:window.__xss=\'c\') <script>window.__xss=1</script>'
    );
    await thread.getByTestId('wb-comment-send').click();
    await expect(thread.getByTestId('wb-event')).toHaveCount(2);
    const body = thread.getByTestId('wb-event-body').nth(1);
    await expect(body).toHaveAttribute('data-rendered', 'true');
    await expect(body).toContainText('Checked.');
    expect(await body.locator('script, [onerror], a[href^="javascript"]').count()).toBe(0);
    await body.getByText('link').click({ noWaitAfter: true }).catch(() => undefined);
    await page.waitForTimeout(300);
    expect(await page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss)).toBeUndefined();
    expect(dialogs).toEqual([]);
    await thread.getByText('← All discussions').click();
    await expect(repo.getByTestId('wb-discussion-list')).toContainText('Label noise in the test split?');
  });
});

test('a pull request shows its changes by notebook cell and merges', async ({ page, request }) => {
  const nb = (src: string) =>
    JSON.stringify({ nbformat: 4, nbformat_minor: 5, metadata: {},
                     cells: [{ id: 'c1', cell_type: 'code', source: src, metadata: {}, outputs: [], execution_count: null }] });
  await commitFiles(request, 'model', 'pr-target', { 'train.ipynb': nb('lr = 0.1') }, 'initial');
  const opened = await request.post('/workbench/hub/api/models/admin/pr-target/discussions', {
    data: { title: 'Lower the learning rate', description: 'Trains better.', pullRequest: true }
  });
  expect(opened.status()).toBe(200);
  const { num, ref } = await opened.json();
  await commitFiles(request, 'model', 'pr-target', { 'train.ipynb': nb('lr = 0.01') }, 'lower lr', ref);
  await openRepo(page, 'admin/pr-target');
  const repo = page.getByTestId('wb-repo');
  await repo.getByTestId('wb-repo-tab-discussions').click();
  await repo.locator(`[data-testid=wb-discussion-list] tr[data-num="${num}"] button`).click();
  const pr = repo.getByTestId('wb-pr');
  const cell = pr.locator('[data-testid=wb-cell-diff] [data-testid=wb-nb-cell]');
  await expect(cell).toHaveAttribute('data-kind', 'changed');
  await expect(cell).toContainText('lr = 0.01');
  await pr.getByTestId('wb-pr-merge').click();
  await expect(repo.getByTestId('wb-thread')).toContainText('merged');
  await expect(pr.getByTestId('wb-pr-merge')).toHaveCount(0);
  const main = await request.get('/workbench/hub/admin/pr-target/resolve/main/train.ipynb');
  expect(await main.text()).toContain('lr = 0.01');
});
