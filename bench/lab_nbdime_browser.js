// Browser side of bench/lab_nbdime.py: headless Debian chromium (playwright-core from ui-tests/)
// against a running JupyterLab; prints one JSON object of timings in milliseconds.
const { launch } = require('./browser');

const LAB = process.env.WB_LAB_URL;
const TOKEN = process.env.WB_LAB_TOKEN;
const REPO = process.env.WB_REPO;
const PR = process.env.WB_PR;
const NOTEBOOK = process.env.WB_NOTEBOOK;
const RUNS = Number(process.env.WB_RUNS || 5);
const WAIT = { timeout: 120000 };

async function ready(page) {
  await page.waitForSelector('#jupyterlab-splash', { state: 'detached', ...WAIT });
}

/** Close any dialog (the kernel chooser of the notebook, which names no kernel). */
async function dismissDialogs(page, wait) {
  const dialog = page.locator('.jp-Dialog');
  await dialog.first().waitFor({ timeout: wait }).catch(() => null);
  for (let i = 0; i < 10 && (await dialog.count()); i++) {
    process.stderr.write(`dialog: ${(await dialog.first().textContent()).slice(0, 300)}\n`);
    const reject = dialog.first().locator('.jp-Dialog-button.jp-mod-reject');
    if (await reject.count()) {
      await reject.first().click();
    } else {
      await page.keyboard.press('Escape');
    }
    await page.waitForTimeout(300);
  }
}

/** Click the pull request in the repo page's Discussions tab: to the first changed cell drawn,
 * and to nbdime's widget done (every cell drawn). */
async function openDiff(page) {
  await page.goto(`${LAB}/lab/workbench/model/${REPO}?reset&token=${TOKEN}`);
  await ready(page);
  await dismissDialogs(page, 1000);
  const repo = page.locator(`[data-testid=wb-repo][data-repo-id="${REPO}"]`);
  await repo.getByTestId('wb-repo-tab-discussions').waitFor(WAIT);
  await dismissDialogs(page, 3000);
  await repo.getByTestId('wb-repo-tab-discussions').click();
  const row = repo.locator(`[data-testid=wb-discussion-list] tr[data-num="${PR}"] button`);
  await row.waitFor(WAIT);
  const t0 = Date.now();
  await row.click();
  await repo.locator('.jp-Cell-diff.jp-Diff-twoway').first().waitFor(WAIT);
  const first = Date.now() - t0;
  await repo.locator('[data-testid=wb-cell-diff][data-rendered=true]').waitFor({ state: 'attached', ...WAIT });
  const full = Date.now() - t0;
  const cells = await repo.locator('[data-testid=wb-nb-cell]').count();
  return { first, full, cells };
}

/** Baseline: double-click the same (new) notebook in the file browser, to its outputs drawn
 * (JupyterLab draws the cells in view first and the rest as it goes). */
async function openNotebook(page) {
  const item = page.locator('.jp-DirListing-item', { hasText: NOTEBOOK });
  if (!(await item.isVisible())) {
    await page.locator('.lm-TabBar-tab[data-id="filebrowser"]').click();
  }
  await item.waitFor(WAIT);
  const t0 = Date.now();
  await item.dblclick();
  await page.locator('.jp-NotebookPanel .jp-OutputArea-output').first().waitFor(WAIT);
  const first = Date.now() - t0;
  await dismissDialogs(page, 5000);
  await page.locator('.lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabCloseIcon').click();
  return { first };
}

(async () => {
  const browser = await launch();
  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  const out = { diffFirst: [], diffFull: [], notebookFirst: [], cells: 0 };
  for (let i = 0; i < RUNS; i++) {
    const page = await context.newPage();
    const diff = await openDiff(page);
    out.diffFirst.push(diff.first);
    out.diffFull.push(diff.full);
    out.cells = diff.cells;
    const nb = await openNotebook(page);
    out.notebookFirst.push(nb.first);
    process.stderr.write(`run ${i}: diff ${JSON.stringify(diff)}, notebook ${JSON.stringify(nb)}\n`);
    await page.close();
  }
  await browser.close();
  process.stdout.write(JSON.stringify(out) + '\n');
})().catch(err => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
  process.exit(1);
});
