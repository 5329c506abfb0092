import { expect, test } from '@jupyterlab/galata';

/** The kernel helpers' widgets, rendered by JupyterLab's ipywidgets manager in the browser. */
test.describe('Kernel widgets in the browser', () => {
  test('wb.ui.search() searches as the user types and inserts a load line', async ({ page }) => {
    await page.notebook.createNew('search-widget.ipynb');
    await page.notebook.setCell(0, 'code', 'import workbench as wb\nbox = wb.ui.search("iris")\nbox');
    await page.notebook.runCell(0);
    const widget = page.locator('.jp-OutputArea-output .widget-vbox').first();
    await expect(widget).toContainText('admin/iris-mini', { timeout: 90000 });
    await expect(widget).toContainText(/\d+ results?/);

    // a new query, typed in the widget: continuous_update is off, so Enter sends it
    const query = widget.locator('.widget-text input').first();
    await query.fill('tiny');
    await query.press('Enter');
    await expect(widget).toContainText('admin/tiny-classifier');
    await expect(widget).not.toContainText('admin/iris-mini');

    // the type filter is a real dropdown of the widget
    await widget.locator('.widget-dropdown select').first().selectOption({ label: 'datasets' });
    await expect(widget).toContainText('Nothing found.');
    await widget.locator('.widget-dropdown select').first().selectOption({ index: 0 });
    // each result row: its id, an Insert button and the load line to copy
    const row = widget
      .locator('.widget-hbox')
      .filter({ has: page.locator('code', { hasText: /^admin\/tiny-classifier$/ }) });
    await row.getByRole('button', { name: 'Insert' }).click();
    await expect(widget).toContainText('goes into a new cell below');
  });

  test('the dataset viewer widget pages, searches and filters rows', async ({ page }) => {
    await page.notebook.createNew('viewer-widget.ipynb');
    await page.notebook.setCell(0, 'code', 'import workbench as wb\nwb.viewer("admin/iris-mini", "train").widget()');
    await page.notebook.runCell(0);
    const widget = page.locator('.jp-OutputArea-output .widget-vbox').first();
    await expect(widget).toContainText('admin/iris-mini', { timeout: 90000 });
    const grid = widget.locator('table').last();
    await expect(grid.locator('tbody tr')).toHaveCount(20);
    const firstRow = await grid.locator('tbody tr').first().textContent();
    await widget.getByRole('button', { name: 'next ▶' }).click();
    await expect.poll(async () => grid.locator('tbody tr').first().textContent()).not.toBe(firstRow);

    const filter = widget.locator('.widget-text', { hasText: 'Filter' }).locator('input');
    await filter.fill("species = 'virginica'");
    await filter.press('Enter');
    await expect(grid.locator('tbody tr').first()).toContainText('virginica');
    for (const text of await grid.locator('tbody tr').allTextContents()) {
      expect(text).toContain('virginica');
    }
  });
});
