import { expect, test } from '@jupyterlab/galata';
import { execFileSync } from 'child_process';

import { commitFiles, hubState } from './helpers';

/** `workbench hub ...` on the hub's data folder, as an administrator would run it. */
function hubCli(...args: string[]): string {
  return execFileSync('python', ['-m', 'workbench', 'hub', ...args, '--data', hubState().data], {
    encoding: 'utf-8'
  }).trim();
}

test.describe('The Team panel', () => {
  test('members and roles, an access request decided, a token created and revoked', async ({
    page,
    request
  }) => {
    const tag = `${Date.now()}`.slice(-6);
    const [org, bob, carol, repo] = [`acme-${tag}`, `bob-${tag}`, `carol-${tag}`, `gated-${tag}`];
    hubCli('user', 'create', bob);
    hubCli('user', 'create', carol);
    hubCli('org', 'create', org, '--owner', 'admin');
    hubCli('org', 'add-member', org, carol, '--role', 'read');
    const bobToken = hubCli('token', 'create', 'asks', '--user', bob).split('\n').pop()!;

    // admin gates a repo of theirs; bob asks for access, straight to the hub with his token
    await commitFiles(request, 'model', repo, { 'README.md': '# gated\n' }, 'card');
    const gated = await request.put(`/workbench/hub/api/models/admin/${repo}/settings`, {
      data: { gated: 'manual' }
    });
    expect(gated.status(), await gated.text()).toBe(200);
    const asked = await fetch(`${hubState().url}/admin/${repo}/ask-access`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${bobToken}`, 'Content-Type': 'application/json' },
      body: '{}'
    });
    expect(asked.status).toBe(200);

    await page.sidebar.openTab('workbench-team');
    await expect(page.getByTestId('wb-team-user')).toContainText('admin');

    // the organization admin changes a member's role
    const member = page.locator(
      `[data-testid=wb-team-org][data-org="${org}"] [data-testid=wb-team-member][data-user="${carol}"]`
    );
    await expect(member.getByTestId('wb-team-role')).toHaveValue('read');
    await member.getByTestId('wb-team-role').selectOption('write');
    await expect(member.getByTestId('wb-team-role')).toHaveValue('write');
    const members = await (await request.get(`/workbench/hub/api/organizations/${org}/members`)).json();
    expect(members).toContainEqual(expect.objectContaining({ name: carol, role: 'write' }));

    // the pending request is listed with its repo, and accepted from the panel
    const pending = page.locator(`[data-testid=wb-team-request][data-user="${bob}"]`);
    await expect(pending).toHaveAttribute('data-repo', `admin/${repo}`);
    await pending.getByTestId('wb-team-accept').click();
    await expect(pending).toHaveCount(0);
    const accepted = await (
      await request.get(`/workbench/hub/api/models/admin/${repo}/user-access-request/accepted`)
    ).json();
    expect(accepted.map((r: { user: { user: string } }) => r.user.user)).toEqual([bob]);

    // a token: created with a scope, its secret shown once and working, then revoked
    const name = `panel-${tag}`;
    await page.getByTestId('wb-team-token-name').fill(name);
    await page.getByTestId('wb-team-token-scope').selectOption('read');
    await page.getByTestId('wb-team-token-expiry').selectOption('7');
    await page.getByTestId('wb-team-token-create').click();
    const secret = (await page.getByTestId('wb-team-secret-value').textContent())!.trim();
    const row = page.locator(`[data-testid=wb-team-token][data-name="${name}"]`);
    await expect(row).toContainText('read');
    await expect(row.getByTestId('wb-team-token-used')).toHaveText('not yet');
    await expect(row.getByTestId('wb-team-token-expires')).not.toHaveText('never');
    const listed = (await (await request.get('/workbench/tokens')).json()) as {
      name: string;
      expiresAt: string | null;
    }[];
    const expires = Date.parse(listed.find(t => t.name === name)!.expiresAt!);
    expect(Math.abs(expires - Date.now() - 7 * 86400_000)).toBeLessThan(3600_000); // in 7 days
    const whoami = (token: string) =>
      fetch(`${hubState().url}/api/whoami-v2`, { headers: { Authorization: `Bearer ${token}` } });
    const before = await whoami(secret);
    expect(before.status).toBe(200);
    expect(((await before.json()) as { name: string }).name).toBe('admin');
    await row.getByTestId('wb-team-revoke').click();
    await expect(row).toHaveCount(0);
    expect((await whoami(secret)).status).toBe(401);
  });
});
