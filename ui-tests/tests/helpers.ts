/**
 * Shared steps of the Workbench UI tests: the hub's state file, committing through the
 * server extension's proxy (as the browser would), and opening the sidebar and repo pages.
 */
import { IJupyterLabPageFixture } from '@jupyterlab/galata';
import { APIRequestContext, expect } from '@playwright/test';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export const STATE_DIR = process.env.WB_UI_STATE || path.join(__dirname, '..', '.state');

export interface IHubState {
  url: string;
  port: number;
  data: string;
  pid: number;
}

export function hubState(): IHubState {
  return JSON.parse(fs.readFileSync(path.join(STATE_DIR, 'state.json'), 'utf-8')) as IHubState;
}

/** The hub token the Jupyter server holds (read from the hub's data folder, never from the UI). */
export function hubToken(): string {
  return fs.readFileSync(path.join(hubState().data, 'jupyter-token'), 'utf-8').trim();
}

export function stopHub(): void {
  process.kill(hubState().pid, 'SIGTERM');
}

export function startHub(): void {
  execFileSync('python', [path.join(__dirname, '..', 'hub_control.py'), 'start'], { stdio: 'inherit' });
}

export async function hubIsDown(): Promise<boolean> {
  try {
    await fetch(`${hubState().url}/api/health`);
    return false;
  } catch {
    return true;
  }
}

/** Create a repo and commit files to it through `/workbench/hub/...` (the proxy adds the token). */
export async function commitFiles(
  request: APIRequestContext,
  type: 'model' | 'dataset' | 'paper',
  name: string,
  files: Record<string, string>,
  summary: string,
  revision = 'main'
): Promise<void> {
  const created = await request.post('/workbench/hub/api/repos/create', {
    data: { name, organization: null, ...(type === 'model' ? {} : { type }) }
  });
  expect([200, 409]).toContain(created.status());
  const lines = [
    JSON.stringify({ key: 'header', value: { summary } }),
    ...Object.entries(files).map(([p, content]) =>
      JSON.stringify({
        key: 'file',
        value: { path: p, content: Buffer.from(content).toString('base64'), encoding: 'base64' }
      })
    )
  ];
  const committed = await request.post(`/workbench/hub/api/${type}s/admin/${name}/commit/${encodeURIComponent(revision)}`, {
    headers: { 'Content-Type': 'application/x-ndjson' },
    data: lines.join('\n') + '\n'
  });
  expect(committed.status(), await committed.text()).toBe(200);
}

export async function openSidebar(page: IJupyterLabPageFixture): Promise<void> {
  await page.sidebar.openTab('workbench-sidebar');
  await expect(page.getByTestId('wb-results')).toBeVisible();
}

export async function search(page: IJupyterLabPageFixture, query: string): Promise<void> {
  await page.getByTestId('wb-search-input').fill(query);
}

export async function openRepo(page: IJupyterLabPageFixture, id: string): Promise<void> {
  await openSidebar(page);
  await search(page, id.split('/')[1]);
  await page.locator(`[data-testid=wb-result][data-repo-id="${id}"] .wb-Result-open`).click();
  await expect(page.locator(`[data-testid=wb-repo][data-repo-id="${id}"] [data-testid=wb-commit]`)).toBeVisible();
}
