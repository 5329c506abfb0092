// Signs in to JupyterHub through its login form in Debian's chromium, opens the user's
// JupyterLab through the proxy, and reports what the Workbench panels show, as JSON.
// Run by tests/jupyter/test_jupyterhub.py: node lab_as_user.js (settings in the environment).
const { chromium } = require(process.env.WB_PLAYWRIGHT_CORE);

async function main() {
  const { JH_URL, JH_USER, JH_PASSWORD, WB_SEARCH, WB_EXPECT_REPO } = process.env;
  const browser = await chromium.launch({
    executablePath: process.env.WB_CHROMIUM || '/usr/bin/chromium',
    args: ['--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync']
  });
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(120000);
    await page.goto(`${JH_URL}/hub/login`);
    await page.fill('#username_input', JH_USER);
    await page.fill('#password_input', JH_PASSWORD);
    await page.click('#login_submit');
    await page.waitForURL(/\/(hub\/home|hub\/spawn|user\/)/);
    await page.goto(`${JH_URL}/user/${JH_USER}/lab`);
    await page.waitForSelector('#jupyterlab-splash', { state: 'detached' });

    await page.locator('.jp-SideBar .lm-TabBar-tab[title^="Workbench Team"]').click();
    const who = page.locator('[data-testid=wb-team-user]');
    await who.filter({ hasText: JH_USER }).waitFor();

    await page.locator('.jp-SideBar .lm-TabBar-tab[title="Workbench"]').click();
    await page.locator('.wb-Search-input').fill(WB_SEARCH);
    const hit = page.locator(`[data-testid=wb-result][data-repo-id="${WB_EXPECT_REPO}"]`);
    await hit.waitFor();
    const results = await page.locator('[data-testid=wb-result]').evaluateAll(els =>
      els.map(e => e.getAttribute('data-repo-id'))
    );
    console.log(JSON.stringify({ who: (await who.textContent()).trim(), results, url: page.url() }));
  } finally {
    await browser.close();
  }
}

main().catch(err => {
  console.error(err);
  process.exit(1);
});
