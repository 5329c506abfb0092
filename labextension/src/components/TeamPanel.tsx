import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import React, { useState } from 'react';

import { TeamModel } from '../team';
import { IAccessRequest, IMember, IToken, RepoType } from '../tokens';
import { ErrorBanner } from './ErrorBanner';

export const TEAM_PANEL_ID = 'workbench-team';
const ROLES: IMember['role'][] = ['read', 'write', 'admin'];

function when(iso: string | null | undefined, none: string): string {
  return iso ? new Date(iso).toLocaleString() : none;
}

/** The members of one organization the user administers, with their roles to change. */
function OrgMembers(props: { model: TeamModel; org: string }): JSX.Element {
  const { model, org } = props;
  return (
    <li className="wb-Team-org" data-testid="wb-team-org" data-org={org}>
      <div className="wb-Team-orgName">{org}</div>
      <table className="wb-Team-table">
        <tbody>
          {model.members(org).map(member => (
            <tr key={member.name} data-testid="wb-team-member" data-user={member.name}>
              <td className="wb-Team-user">{member.name}</td>
              <td>
                <select
                  className="jp-mod-styled"
                  aria-label={`Role of ${member.name} in ${org}`}
                  data-testid="wb-team-role"
                  value={member.role}
                  disabled={member.name === model.user}
                  onChange={e =>
                    void model.setRole(org, member.name, e.target.value as IMember['role'])
                  }
                >
                  {ROLES.map(r => (
                    <option key={r} value={r}>
                      {r}
                    </option>
                  ))}
                </select>
              </td>
              <td>
                {member.name !== model.user && (
                  <button
                    className="jp-mod-styled"
                    data-testid="wb-team-remove"
                    title={`Remove ${member.name} from ${org}`}
                    onClick={() => void model.removeMember(org, member.name)}
                  >
                    Remove
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </li>
  );
}

/** One pending access request; the answers to the card's form are shown as text. */
function AccessRequest(props: {
  model: TeamModel;
  request: IAccessRequest;
  onOpen: (type: RepoType, id: string) => void;
}): JSX.Element {
  const { model, request } = props;
  const answers = Object.entries(request.fields ?? {});
  return (
    <li
      className="wb-Team-request"
      data-testid="wb-team-request"
      data-user={request.user.user}
      data-repo={request.repo.id}
    >
      <div>
        <strong>{request.user.user}</strong> asks for{' '}
        <button
          className="wb-Team-link"
          onClick={() => props.onOpen(request.repo.type, request.repo.id)}
        >
          {request.repo.id}
        </button>
      </div>
      {answers.length > 0 && (
        <dl className="wb-Team-answers">
          {answers.map(([k, v]) => (
            <React.Fragment key={k}>
              <dt>{k}</dt>
              <dd>{String(v)}</dd>
            </React.Fragment>
          ))}
        </dl>
      )}
      <div className="wb-Team-actions">
        <button
          className="jp-mod-styled jp-mod-accept"
          data-testid="wb-team-accept"
          onClick={() => void model.decide(request, 'accepted')}
        >
          Accept
        </button>
        <button
          className="jp-mod-styled jp-mod-warn"
          data-testid="wb-team-reject"
          onClick={() => void model.decide(request, 'rejected')}
        >
          Reject
        </button>
      </div>
    </li>
  );
}

function TokenRow(props: { model: TeamModel; token: IToken }): JSX.Element {
  const { model, token } = props;
  return (
    <tr data-testid="wb-team-token" data-name={token.name}>
      <td className="wb-Team-user" title={`${token.prefix}…`}>
        {token.name}
      </td>
      <td>{token.scope}</td>
      <td data-testid="wb-team-token-expires">{when(token.expiresAt, 'never')}</td>
      <td data-testid="wb-team-token-used">{when(token.lastUsedAt, 'not yet')}</td>
      <td>
        <button
          className="jp-mod-styled"
          data-testid="wb-team-revoke"
          title={`Revoke ${token.name}: it stops working at once`}
          onClick={() => void model.revokeToken(token.id)}
        >
          Revoke
        </button>
      </td>
    </tr>
  );
}

function NewToken(props: { model: TeamModel }): JSX.Element {
  const [name, setName] = useState('');
  const [scope, setScope] = useState<'read' | 'write'>('read');
  const [days, setDays] = useState('30');
  const create = () => {
    const expiresInDays = Number(days) || undefined;
    void props.model.createToken({ name: name.trim(), scope, expiresInDays });
    setName('');
  };
  return (
    <div className="wb-Team-newToken">
      <input
        className="jp-mod-styled"
        placeholder="Token name"
        aria-label="Token name"
        data-testid="wb-team-token-name"
        value={name}
        onChange={e => setName(e.target.value)}
      />
      <select
        className="jp-mod-styled"
        aria-label="Token scope"
        data-testid="wb-team-token-scope"
        value={scope}
        onChange={e => setScope(e.target.value as 'read' | 'write')}
      >
        <option value="read">read</option>
        <option value="write">write</option>
      </select>
      <select
        className="jp-mod-styled"
        aria-label="Token expiry"
        data-testid="wb-team-token-expiry"
        value={days}
        onChange={e => setDays(e.target.value)}
      >
        <option value="7">7 days</option>
        <option value="30">30 days</option>
        <option value="90">90 days</option>
        <option value="0">never expires</option>
      </select>
      <button
        className="jp-mod-styled jp-mod-accept"
        data-testid="wb-team-token-create"
        disabled={!name.trim()}
        onClick={create}
      >
        Create token
      </button>
    </div>
  );
}

/** The panel's content: administered organizations, requests to decide, own tokens. */
export function TeamView(props: {
  model: TeamModel;
  onOpen: (type: RepoType, id: string) => void;
}): JSX.Element {
  const { model } = props;
  const secret = model.newSecret;
  return (
    <div className="wb-SidebarContent wb-Team" data-loading={model.loading}>
      <h2 className="wb-Sidebar-title">Team</h2>
      <div className="wb-Team-who" data-testid="wb-team-user">
        {model.user ? `Signed in to the hub as ${model.user}` : ''}
      </div>
      <button
        className="jp-mod-styled"
        data-testid="wb-team-refresh"
        onClick={() => void model.refresh()}
      >
        Refresh
      </button>
      {model.error && <ErrorBanner {...model.error} onRetry={() => void model.refresh()} />}

      {model.adminOrgs.length > 0 && (
        <section data-testid="wb-team-orgs">
          <h3>Organizations you administer</h3>
          <ul className="wb-Team-list">
            {model.adminOrgs.map(o => (
              <OrgMembers key={o.name} model={model} org={o.name} />
            ))}
          </ul>
        </section>
      )}

      <section data-testid="wb-team-requests">
        <h3>Access requests</h3>
        {model.requests.length === 0 ? (
          <p className="wb-Empty">No requests waiting on you.</p>
        ) : (
          <ul className="wb-Team-list">
            {model.requests.map(r => (
              <AccessRequest key={r.requestId} model={model} request={r} onOpen={props.onOpen} />
            ))}
          </ul>
        )}
      </section>

      <section data-testid="wb-team-tokens">
        <h3>Your tokens</h3>
        {secret && (
          <div className="wb-Team-secret" role="status" data-testid="wb-team-secret">
            <div>Copy the token {secret.name} now: the hub does not show it again.</div>
            <code data-testid="wb-team-secret-value">{secret.token}</code>
            <button className="jp-mod-styled" onClick={() => model.dismissSecret()}>
              Done
            </button>
          </div>
        )}
        <NewToken model={model} />
        {model.tokens.length === 0 ? (
          <p className="wb-Empty">No tokens.</p>
        ) : (
          <table className="wb-Team-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Scope</th>
                <th>Expires</th>
                <th>Last used</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {model.tokens.map(t => (
                <TokenRow key={t.id} model={model} token={t} />
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}

/** The "Workbench Team" left panel. */
export class TeamPanel extends ReactWidget {
  constructor(
    readonly model: TeamModel,
    private readonly onOpen: (type: RepoType, id: string) => void
  ) {
    super();
    this.id = TEAM_PANEL_ID;
    this.addClass('wb-Sidebar');
    this.title.caption = 'Workbench Team: members, access requests, tokens';
  }

  /** Requests and tokens change elsewhere: show the hub's state each time the panel opens. */
  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this.model.refresh();
  }

  render(): JSX.Element {
    return (
      <UseSignal signal={this.model.changed}>
        {() => <TeamView model={this.model} onOpen={this.onOpen} />}
      </UseSignal>
    );
  }
}
