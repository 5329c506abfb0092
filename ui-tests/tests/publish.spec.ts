import { expect, test } from '@jupyterlab/galata';

test.describe('Publish from the file browser', () => {
  test('a folder goes into a new repo as one commit; New Workbench Repo… creates one', async ({
    page,
    request,
    tmpPath
  }) => {
    const tag = `${Date.now()}`.slice(-6);
    const folder = `weights-${tag}`;
    // in the test's own folder, which the file browser shows
    await page.contents.createDirectory(`${tmpPath}/${folder}`);
    await page.contents.uploadContent('{"hidden": 4}', 'text', `${tmpPath}/${folder}/config.json`);
    await page.contents.uploadContent('x'.repeat(200_000), 'text', `${tmpPath}/${folder}/model.bin`);
    await page.filebrowser.refresh();

    await page.locator('.jp-DirListing-item', { hasText: folder }).click({ button: 'right' });
    await page.getByRole('menuitem', { name: 'Publish to Workbench…' }).click();
    const repo = page.getByTestId('wb-repo-form-repo');
    await expect(repo).toHaveValue(`admin/${folder}`); // the user's namespace, the folder's name
    await page.getByTestId('wb-repo-form-type').selectOption('dataset');
    await page.getByTestId('wb-repo-form-private').check();
    await page.getByRole('button', { name: 'Publish' }).click();

    const toast = page.locator('.Toastify__toast').filter({ hasText: 'Published:' });
    await expect(toast).toContainText(`admin/${folder} at`);
    await expect(toast).toContainText('(2 files)');
    const info = await (await request.get(`/workbench/hub/api/datasets/admin/${folder}`)).json();
    expect(info.private).toBe(true);
    const files = (info.siblings as { rfilename: string }[]).map(s => s.rfilename);
    expect(files).toEqual(expect.arrayContaining(['config.json', 'model.bin']));
    await toast.getByRole('button', { name: 'Open repo' }).click();
    await expect(
      page.locator(`[data-testid=wb-repo][data-repo-id="admin/${folder}"] [data-testid=wb-commit]`)
    ).toHaveText(info.sha);

    // a refusal is said, not swallowed
    await page.locator('.jp-DirListing-item', { hasText: folder }).click({ button: 'right' });
    await page.getByRole('menuitem', { name: 'Publish to Workbench…' }).click();
    await page.getByTestId('wb-repo-form-repo').fill(`nobody-${tag}/x`);
    await page.getByRole('button', { name: 'Publish' }).click();
    await expect(page.locator('.Toastify__toast').filter({ hasText: 'failed' })).toBeVisible();

    // an empty repo from the file browser's background menu
    await page.locator('.jp-DirListing-content').click({ button: 'right', position: { x: 40, y: 300 } });
    await page.getByRole('menuitem', { name: 'New Workbench Repo…' }).click();
    await page.getByTestId('wb-repo-form-repo').fill(`admin/empty-${tag}`);
    await page.getByRole('button', { name: 'Create' }).click();
    await expect(
      page.locator(`[data-testid=wb-repo][data-repo-id="admin/empty-${tag}"] [data-testid=wb-commit]`)
    ).toBeVisible();
  });
});
