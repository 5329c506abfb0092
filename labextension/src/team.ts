/**
 * The Team panel's state: who the user is, the organizations they administer with their
 * members, the access requests waiting on them, and their own tokens.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { WorkbenchApi } from './api';
import { describeError } from './model';
import { IAccessRequest, IMember, IOrganization, IToken, ITokenRequest } from './tokens';

export class TeamModel {
  constructor(private readonly api: WorkbenchApi) {}

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The signed-in user's name ('' until known). */
  get user(): string {
    return this._user;
  }

  /** Organizations the user administers (hub admins: every organization). */
  get adminOrgs(): IOrganization[] {
    return this._orgs.filter(o => o.roleInOrg === 'admin');
  }

  members(org: string): IMember[] {
    return this._members.get(org) ?? [];
  }

  get requests(): IAccessRequest[] {
    return this._requests;
  }

  get tokens(): IToken[] {
    return this._tokens;
  }

  /** The secret of the token created last: shown until dismissed; the hub never shows it again. */
  get newSecret(): { name: string; token: string } | null {
    return this._secret;
  }

  get loading(): boolean {
    return this._loading;
  }

  get error(): { message: string; hubDown: boolean } | null {
    return this._error;
  }

  async refresh(): Promise<void> {
    const seq = ++this._seq;
    this._loading = true;
    this._changed.emit();
    try {
      const [me, orgs, requests, tokens] = await Promise.all([
        this.api.whoami(),
        this.api.organizations(),
        this.api.accessRequests(),
        this.api.tokens()
      ]);
      const admin = orgs.filter(o => o.roleInOrg === 'admin');
      const members = await Promise.all(admin.map(o => this.api.members(o.name)));
      if (seq !== this._seq) {
        return;
      }
      this._user = me.name;
      this._orgs = orgs;
      this._members = new Map(admin.map((o, i) => [o.name, members[i]]));
      this._requests = requests;
      this._tokens = tokens.filter(t => !t.revoked);
      this._error = null;
    } catch (reason) {
      if (seq === this._seq) {
        this._error = describeError(reason);
      }
    } finally {
      if (seq === this._seq) {
        this._loading = false;
        this._changed.emit();
      }
    }
  }

  setRole(org: string, user: string, role: IMember['role']): Promise<void> {
    return this.act(() => this.api.setRole(org, user, role));
  }

  removeMember(org: string, user: string): Promise<void> {
    return this.act(() => this.api.removeMember(org, user));
  }

  decide(request: IAccessRequest, status: 'accepted' | 'rejected'): Promise<void> {
    return this.act(() => this.api.decideAccessRequest(request, status));
  }

  async createToken(request: ITokenRequest): Promise<void> {
    let created: { name: string; token: string } | null = null;
    await this.act(async () => {
      const answer = await this.api.createToken(request);
      created = { name: answer.name, token: answer.token };
    });
    this._secret = created;
    this._changed.emit();
  }

  revokeToken(id: number): Promise<void> {
    return this.act(() => this.api.revokeToken(id));
  }

  dismissSecret(): void {
    this._secret = null;
    this._changed.emit();
  }

  /** Run one change, then show the hub's state again; a refusal is shown, not thrown. */
  private async act(change: () => Promise<unknown>): Promise<void> {
    try {
      await change();
    } catch (reason) {
      this._error = describeError(reason);
      this._changed.emit();
      return;
    }
    await this.refresh();
  }

  private _changed = new Signal<this, void>(this);
  private _user = '';
  private _orgs: IOrganization[] = [];
  private _members = new Map<string, IMember[]>();
  private _requests: IAccessRequest[] = [];
  private _tokens: IToken[] = [];
  private _secret: { name: string; token: string } | null = null;
  private _loading = false;
  private _error: { message: string; hubDown: boolean } | null = null;
  private _seq = 0;
}
