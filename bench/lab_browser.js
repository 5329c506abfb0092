// Browser side of bench/lab.py: headless Debian chromium (playwright-core from ui-tests/)
// against a running JupyterLab; prints one JSON object of timings in milliseconds.
const { launch } = require('./browser');

const LAB = process.env.WB_LAB_URL;
const TOKEN = process.env.WB_LAB_TOKEN;
const QUERIES = JSON.parse(process.env.WB_QUERIES);
const CLICKS = Number(process.env.WB_CLICKS || 10);
const OPENS = Number(process.env.WB_OPENS || 3);

async function openLab(browser) {
  const page = await browser.newPage();
  const t0 = Date.now();
  await page.goto(`${LAB}/lab?reset&token=${TOKEN}`);
  await page.waitForSelector('#jupyterlab-splash', { state: 'detached', timeout: 120000 });
  const labReady = Date.now() - t0;
  await page.click('.lm-TabBar-tab[data-id="workbench-sidebar"]');
  await page.waitForSelector('[data-testid=wb-result]', { timeout: 120000 });
  return { page, labReady, sidebar: Date.now() - t0 };
}

(async () => {
  const browser = await launch();
  const out = { open: [], labReady: [], query: [], queryFetch: [], click: [], clickFetch: [] };
  let page;
  for (let i = 0; i < OPENS; i++) {
    if (page) await page.close();
    const opened = await openLab(browser);
    page = opened.page;
    out.open.push(opened.sidebar);
    out.labReady.push(opened.labReady);
  }
  const input = page.getByTestId('wb-search-input');
  for (const q of QUERIES) {
    await input.fill('');
    await page.waitForSelector('[data-testid=wb-results][data-query=""][data-loading=false]', { state: 'attached' });
    await input.pressSequentially(q);  // one search per keystroke, as a person types
    const t0 = Date.now();
    try {
      await page.waitForSelector(`[data-testid=wb-results][data-query="${q}"][data-loading=false]`, { state: 'attached' });
    } catch (err) {
      const sidebar = await page.locator('.wb-SidebarContent').textContent();
      throw new Error(`query ${JSON.stringify(q)} never showed its results: ${String(sidebar).slice(0, 600)}`);
    }
    out.query.push(Date.now() - t0);
    // Baseline: the same search fetched by the page through the proxy, no UI.
    out.queryFetch.push(await page.evaluate(async ([lab, q]) => {
      const t = performance.now();
      const r = await fetch(`${lab}/workbench/hub/api/search?q=${encodeURIComponent(q)}&sort=relevance&limit=20`);
      await r.json();
      return performance.now() - t;
    }, [LAB, q]));
  }
  for (let i = 0; i < CLICKS; i++) {
    await input.fill('tiny-classifier');
    const result = page.locator('[data-testid=wb-result][data-repo-id="admin/tiny-classifier"] .wb-Result-open');
    await result.waitFor();
    const t0 = Date.now();
    await result.click();
    await page.waitForSelector('[data-testid=wb-card][data-rendered=true]', { state: 'attached' }).catch(async e => {
      throw new Error(`click ${i}: ${e}\n${(await page.locator('.lm-DockPanel').textContent()).slice(0, 800)}`);
    });
    out.click.push(Date.now() - t0);
    await page.locator('.lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabCloseIcon').click();
    await page.waitForSelector('[data-testid=wb-card]', { state: 'detached' });
    // Baseline: the requests a repo page needs before the card can render, fetched directly.
    out.clickFetch.push(await page.evaluate(async lab => {
      const t = performance.now();
      const info = await (await fetch(`${lab}/workbench/hub/api/models/admin/tiny-classifier`)).json();
      await Promise.all([
        fetch(`${lab}/workbench/hub/admin/tiny-classifier/resolve/${info.sha}/README.md`).then(r => r.text()),
        fetch(`${lab}/workbench/hub/api/models/admin/tiny-classifier/tree/${info.sha}?recursive=true`).then(r => r.json()),
        fetch(`${lab}/workbench/hub/api/models/admin/tiny-classifier/commits/${info.sha}`).then(r => r.json()),
        fetch(`${lab}/workbench/hub/api/models/admin/tiny-classifier/refs`).then(r => r.json())
      ]);
      return performance.now() - t;
    }, LAB));
  }
  await browser.close();
  process.stdout.write(JSON.stringify(out) + '\n');
})().catch(err => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
  process.exit(1);
});
