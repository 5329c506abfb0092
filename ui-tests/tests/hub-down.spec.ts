import { expect, test } from '@jupyterlab/galata';

import { hubIsDown, openRepo, openSidebar, search, startHub, stopHub } from './helpers';

test('a hub that goes down is reported in plain words, and the UI recovers', async ({ page }) => {
  await openRepo(page, 'admin/tiny-classifier');
  stopHub();
  await expect.poll(hubIsDown).toBe(true);
  try {
    await openSidebar(page);
    await search(page, 'iris');
    const error = page.getByTestId('wb-error').first();
    await expect(error).toContainText('The Workbench hub is not answering');
    await expect(error).toHaveAttribute('data-hub-down', 'true');
    await expect(page.getByTestId('wb-status')).toHaveAttribute('data-reachable', 'false', { timeout: 20000 });
    await page.getByTestId('wb-status').click();
    await expect(page.getByTestId('wb-status')).toContainText('not answering');
  } finally {
    startHub();
  }
  // No reload and no click: the sidebar retries by itself.
  await expect(page.locator('[data-testid=wb-result][data-repo-id="admin/iris-mini"]')).toBeVisible({ timeout: 20000 });
  await expect(page.getByTestId('wb-error')).toHaveCount(0);
  await page.getByTestId('wb-status').click();
  await expect(page.getByTestId('wb-status')).toHaveAttribute('data-reachable', 'true');
});
