import { Widget } from '@lumino/widgets';

import { WorkbenchApi } from '../api';
import { TeamPanel } from '../components/TeamPanel';
import { TeamModel } from '../team';
import { IAccessRequest, IToken } from '../tokens';

const tick = () => new Promise(resolve => setTimeout(resolve, 50));

/** Set a React-controlled field the way a user's typing does. */
function setValue(el: Element, value: string): void {
  const proto = Object.getPrototypeOf(el) as object;
  Object.getOwnPropertyDescriptor(proto, 'value')!.set!.call(el, value);
  el.dispatchEvent(new Event(el.tagName === 'SELECT' ? 'change' : 'input', { bubbles: true }));
}

function fakeHub() {
  const calls: string[] = [];
  let tokens: IToken[] = [
    {
      id: 1,
      name: 'laptop',
      prefix: 'wb_abc',
      scope: 'write',
      createdAt: '2026-12-01T10:00:00Z',
      lastUsedAt: null,
      expiresAt: null,
      revoked: false
    }
  ];
  let requests: IAccessRequest[] = [
    {
      requestId: 'r1',
      user: { user: 'bob' },
      status: 'pending',
      timestamp: '2026-12-01T10:00:00Z',
      fields: { Company: '<img src=x onerror=alert(1)>' },
      repo: { type: 'model', id: 'acme/llm' }
    }
  ];
  const api = {
    whoami: () => Promise.resolve({ name: 'ada' }),
    organizations: () =>
      Promise.resolve([
        { name: 'acme', roleInOrg: 'admin' },
        { name: 'other', roleInOrg: 'read' }
      ]),
    members: (org: string) => {
      calls.push(`members ${org}`);
      return Promise.resolve([
        { name: 'ada', role: 'admin' },
        { name: 'bob', role: 'read' }
      ]);
    },
    setRole: (org: string, user: string, role: string) => {
      calls.push(`role ${org} ${user} ${role}`);
      return Promise.resolve({});
    },
    removeMember: () => Promise.resolve({}),
    accessRequests: () => Promise.resolve(requests),
    decideAccessRequest: (r: IAccessRequest, status: string) => {
      calls.push(`decide ${r.repo.id} ${r.user.user} ${status}`);
      requests = [];
      return Promise.resolve({});
    },
    tokens: () => Promise.resolve(tokens),
    createToken: (req: { name: string; scope: string; expiresInDays?: number }) => {
      calls.push(`create ${req.name} ${req.scope} ${req.expiresInDays}`);
      const t: IToken = { ...tokens[0], id: 2, name: req.name, scope: req.scope };
      tokens = [...tokens, t];
      return Promise.resolve({ ...t, token: 'wb_secret' });
    },
    revokeToken: (id: number) => {
      calls.push(`revoke ${id}`);
      tokens = tokens.map(t => (t.id === id ? { ...t, revoked: true } : t));
      return Promise.resolve({});
    }
  } as unknown as WorkbenchApi;
  return { api, calls };
}

describe('TeamModel and TeamPanel', () => {
  it('shows administered organizations, requests and tokens, and acts on them', async () => {
    const { api, calls } = fakeHub();
    const model = new TeamModel(api);
    const panel = new TeamPanel(model, () => undefined);
    panel.hide(); // as in the lab's sidebar until the user opens it
    Widget.attach(panel, document.body);
    expect(calls).toEqual([]);
    panel.show(); // opening the panel loads it
    await tick();
    const q = (id: string) => Array.from(panel.node.querySelectorAll(`[data-testid=${id}]`));
    expect(model.adminOrgs.map(o => o.name)).toEqual(['acme']);
    expect(calls).toEqual(['members acme']); // only organizations the user administers
    expect(q('wb-team-user')[0].textContent).toContain('ada');
    // the form's answers are the requester's text, never HTML
    expect(panel.node.querySelector('img')).toBeNull();
    expect(q('wb-team-request')[0].textContent).toContain('<img src=x onerror=alert(1)>');
    // no role change or removal of oneself
    expect(q('wb-team-role').map(r => (r as HTMLSelectElement).disabled)).toEqual([true, false]);
    expect(q('wb-team-remove')).toHaveLength(1);

    setValue(q('wb-team-role')[1], 'write');
    await tick();
    (q('wb-team-accept')[0] as HTMLButtonElement).click();
    await tick();
    expect(q('wb-team-request')).toHaveLength(0);

    setValue(q('wb-team-token-name')[0], 'ci');
    setValue(q('wb-team-token-expiry')[0], '7');
    await tick();
    (q('wb-team-token-create')[0] as HTMLButtonElement).click();
    await tick();
    expect(q('wb-team-secret-value')[0].textContent).toBe('wb_secret');
    expect(q('wb-team-token')).toHaveLength(2);
    expect(q('wb-team-token-expires')[0].textContent).toBe('never');
    expect(q('wb-team-token-used')[0].textContent).toBe('not yet');

    (q('wb-team-revoke')[0] as HTMLButtonElement).click();
    await tick();
    expect(q('wb-team-token')).toHaveLength(1);
    expect(calls).toEqual([
      'members acme',
      'role acme bob write',
      'members acme',
      'decide acme/llm bob accepted',
      'members acme',
      'create ci read 7',
      'members acme',
      'revoke 1',
      'members acme'
    ]);
    panel.dispose();
  });

  it('shows a refusal instead of throwing', async () => {
    const { api } = fakeHub();
    (api as unknown as { revokeToken: () => Promise<unknown> }).revokeToken = () =>
      Promise.reject(new Error('You may only revoke your own tokens.'));
    const model = new TeamModel(api);
    await model.refresh();
    await model.revokeToken(1);
    expect(model.error?.message).toContain('only revoke your own');
  });
});
