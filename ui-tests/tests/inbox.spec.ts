import { expect, test } from '@jupyterlab/galata';
import { execFileSync } from 'child_process';

import { commitFiles, hubState } from './helpers';

/** `workbench hub ...` on the hub's data folder, as an administrator would run it. */
function hubCli(...args: string[]): string {
  return execFileSync('python', ['-m', 'workbench', 'hub', ...args, '--data', hubState().data], {
    encoding: 'utf-8'
  }).trim();
}

test.describe('Inbox, like and watch, deep links', () => {
  // A deep link opens a repo page, not the Launcher that Galata waits for by default.
  test.use({
    waitForApplication: async ({ baseURL }, use) => {
      await use(async page => {
        await page.waitForSelector('#jupyterlab-splash', { state: 'detached' });
      });
    }
  });

  test('a deep link opens the repo; like and watch; a mention reaches the inbox and opens its thread', async ({
    page,
    request
  }) => {
    const tag = `${Date.now()}`.slice(-6);
    const repo = `inbox-${tag}`;
    const bob = `bob-inbox-${tag}`;
    await commitFiles(request, 'model', repo, { 'README.md': '# inbox\n' }, 'card');
    hubCli('user', 'create', bob);
    const bobToken = hubCli('token', 'create', 'talks', '--user', bob).split('\n').pop()!;

    // a colleague's link: /lab/workbench/{type}/{ns}/{name}
    await page.goto(`workbench/model/admin/${repo}`);
    const page_ = page.locator(`[data-testid=wb-repo][data-repo-id="admin/${repo}"]`);
    await expect(page_.getByTestId('wb-commit')).toBeVisible();
    expect(page.url()).not.toContain('workbench-open'); // the address is tidied

    // like and watch, as the hub records them
    await expect(page_.getByTestId('wb-like')).toHaveAttribute('aria-pressed', 'false');
    await page_.getByTestId('wb-like').click();
    await expect(page_.getByTestId('wb-like')).toHaveAttribute('aria-pressed', 'true');
    await expect(page_.getByTestId('wb-like-count')).toHaveText('1');
    await page_.getByTestId('wb-watch').click();
    await expect(page_.getByTestId('wb-watch')).toHaveText('Watching');
    const interest = await (await request.get(`/workbench/hub/api/models/admin/${repo}/interest`)).json();
    expect(interest).toEqual({ liked: true, watching: true, likes: 1 });

    // bob opens a discussion mentioning admin: it reaches admin's inbox
    const opened = await fetch(`${hubState().url}/api/models/admin/${repo}/discussions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${bobToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ title: `Question ${tag}`, description: '@admin does this load?' })
    });
    expect(opened.status).toBe(200);
    const { num } = (await opened.json()) as { num: number };
    const commented = await fetch(`${hubState().url}/api/models/admin/${repo}/discussions/${num}/comment`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${bobToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ comment: '@admin and <img src=x onerror="window.__wbXss = 1">?' })
    });
    expect(commented.status).toBe(200);

    await page.getByTestId('wb-inbox-status').click(); // the status bar's unread count opens it
    await page.locator('#workbench-inbox').getByRole('button', { name: 'Refresh' }).click();
    const entry = page
      .getByTestId('wb-inbox-entry')
      .filter({ hasText: `mentioned you in admin/${repo} #${num}` });
    await expect(entry).toHaveCount(2); // the new discussion, then the comment
    await expect(entry.first()).toHaveAttribute('data-read', 'false');
    await expect(page.getByTestId('wb-inbox-status')).not.toHaveAttribute('data-unread', '0');
    await entry.last().getByRole('button').click();
    await expect(page.locator(`[data-testid=wb-repo][data-repo-id="admin/${repo}"] [data-testid=wb-thread]`)).toContainText(
      `Question ${tag}`
    );
    await expect(entry.last()).toHaveAttribute('data-read', 'true');
    await expect(entry.first()).toHaveAttribute('data-read', 'false');
    await page.getByTestId('wb-inbox-read-all').click();
    await expect(page.getByTestId('wb-inbox-unread')).toHaveText('0 unread');
    await expect(page.getByTestId('wb-inbox-status')).toHaveAttribute('data-unread', '0');
    expect(await page.evaluate(() => (window as unknown as { __wbXss?: number }).__wbXss)).toBeUndefined();

    // a link to the discussion opens it directly
    await page.goto(`workbench/model/admin/${repo}/pr/${num}`);
    await expect(page.locator(`[data-testid=wb-repo][data-repo-id="admin/${repo}"] [data-testid=wb-thread]`)).toContainText(
      `Question ${tag}`
    );
  });

  test('a link that names no repo says so', async ({ page }) => {
    await page.goto('workbench/kernel/acme/llm');
    await expect(page.locator('.jp-Dialog')).toContainText('The link names no repo');
  });
});
