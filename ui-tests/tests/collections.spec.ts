import { expect, test } from '@jupyterlab/galata';

import { openSidebar, search } from './helpers';

interface ICollectionOut {
  slug: string;
  title: string;
  private: boolean;
  items: { id: string; type: string; note?: { text: string } }[];
}

const PAYLOAD = '<img src=x onerror="window.__wbXss = 1">the floor to beat';

test.describe('Collections in the Workbench sidebar', () => {
  test('a collection made through the API is listed, expands, and opens its items', async ({
    page,
    request
  }) => {
    const created = await request.post('/workbench/hub/api/collections', {
      data: { title: `Baselines ${Date.now()}`, private: false }
    });
    expect(created.status(), await created.text()).toBe(200);
    const { slug } = (await created.json()) as ICollectionOut;
    for (const [type, id, note] of [
      ['model', 'admin/tiny-classifier', PAYLOAD],
      ['dataset', 'admin/iris-mini', '']
    ]) {
      const added = await request.post(`/workbench/hub/api/collections/${slug}/items`, {
        data: { item: { type, id }, ...(note ? { note } : {}) }
      });
      expect(added.status(), await added.text()).toBe(200);
    }

    await openSidebar(page);
    await page.getByTestId('wb-collections-refresh').click();
    const entry = page.locator(`[data-testid=wb-collection][data-slug="${slug}"]`);
    await expect(entry).toBeVisible();
    await expect(entry).toHaveAttribute('data-expanded', 'false');
    await entry.getByTestId('wb-collection-toggle').click();
    await expect(entry).toHaveAttribute('data-expanded', 'true');
    const items = entry.getByTestId('wb-collection-item');
    await expect(items).toHaveCount(2);
    await expect(items.nth(0)).toHaveAttribute('data-repo-id', 'admin/tiny-classifier');
    await expect(items.nth(1)).toHaveAttribute('data-repo-type', 'dataset');
    // The note is shown as the text it is: no element made of it, no script run.
    const note = items.nth(0).getByTestId('wb-collection-note');
    await expect(note).toHaveText(PAYLOAD);
    await expect(note.locator('img')).toHaveCount(0);
    expect(await page.evaluate(() => (window as unknown as { __wbXss?: number }).__wbXss)).toBeUndefined();

    await items.nth(0).getByTestId('wb-collection-item-open').click();
    await expect(
      page.locator('[data-testid=wb-repo][data-repo-id="admin/tiny-classifier"] [data-testid=wb-commit]')
    ).toBeVisible();
  });

  test('New collection… and Add to collection… from a repo page', async ({ page, request }) => {
    const title = `Reading list ${Date.now()}`;
    await openSidebar(page);
    await page.getByTestId('wb-collection-new').click();
    await page.getByTestId('wb-collection-title').fill(title);
    await page.getByTestId('wb-collection-private').check();
    await page.locator('.jp-Dialog .jp-mod-accept').click();
    const entry = page.getByTestId('wb-collection').filter({ hasText: title });
    await expect(entry).toBeVisible();
    await expect(entry).toContainText('private');
    const slug = await entry.getAttribute('data-slug');
    expect(slug).toBeTruthy();

    await search(page, 'iris');
    await page.locator('[data-testid=wb-result][data-repo-id="admin/iris-mini"] .wb-Result-open').click();
    const repo = page.locator('[data-testid=wb-repo][data-repo-id="admin/iris-mini"]');
    await expect(repo.getByTestId('wb-commit')).toBeVisible();
    await repo.getByTestId('wb-add-to-collection').click();
    await page.getByTestId('wb-add-collection-slug').selectOption(slug!);
    await page.getByTestId('wb-add-collection-note').fill('to read');
    await page.locator('.jp-Dialog .jp-mod-accept').click();
    await expect(page.locator('.jp-Dialog')).toHaveCount(0);

    await expect
      .poll(async () => {
        const got = await request.get(`/workbench/hub/api/collections/${slug}`);
        return ((await got.json()) as ICollectionOut).items.map(i => `${i.type} ${i.id} ${i.note?.text ?? ''}`);
      })
      .toEqual(['dataset admin/iris-mini to read']);
    await entry.getByTestId('wb-collection-toggle').click();
    await expect(entry.getByTestId('wb-collection-item')).toHaveCount(1);
  });
});
