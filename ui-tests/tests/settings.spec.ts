import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';

import { hubState, openSidebar } from './helpers';

/** Change the Hub URL setting as the settings editor does: through the settings registry. */
async function setHubUrl(page: IJupyterLabPageFixture, value: string): Promise<void> {
  await page.evaluate(async hubUrl => {
    const registry = await window.galata.getPlugin('@jupyterlab/apputils-extension:settings');
    await registry!.set('workbench:plugin', 'hubUrl', hubUrl);
  }, value);
}

test('the Hub URL setting moves the status bar item to another hub and back', async ({ page, request }) => {
  const configured = hubState().url;
  const status = page.getByTestId('wb-status');
  await expect(status).toHaveAttribute('data-hub-url', configured);
  await expect(status).toHaveAttribute('data-reachable', 'true');
  try {
    // The same hub under another name is another hub to the server: browsed without its token.
    const second = configured.replace('127.0.0.1', 'localhost');
    await setHubUrl(page, second);
    await expect(status).toHaveAttribute('data-hub-url', second);
    await expect(status).toHaveAttribute('data-reachable', 'true');
    await expect(status).toContainText(second);
    await expect(status).not.toHaveAttribute('title', /signed in as/);
    await openSidebar(page);
    await expect(page.locator('[data-testid=wb-result][data-repo-id="admin/iris-mini"]')).toBeVisible();

    const unreachable = 'http://127.0.0.1:9'; // the discard port: nothing listens there
    await setHubUrl(page, unreachable);
    await expect(status).toHaveAttribute('data-hub-url', unreachable);
    await expect(status).toHaveAttribute('data-reachable', 'false');
    await expect(status).toContainText('not answering');
  } finally {
    // The server's connection outlives this page: put it back even if a step failed.
    await setHubUrl(page, '').catch(() => undefined);
    await request.put('/workbench/connection', { data: { hubUrl: '' } });
  }
  await expect(status).toHaveAttribute('data-hub-url', configured);
  await expect(status).toHaveAttribute('data-reachable', 'true');
  await expect(status).toHaveAttribute('title', /signed in as admin/);
});
