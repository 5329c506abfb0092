/**
 * The sidebar's collections: those of the signed-in user and of their organizations, and the
 * full item lists of the ones the user expanded.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { WorkbenchApi } from './api';
import { describeError } from './model';
import { ICollection } from './tokens';

export class CollectionsModel {
  constructor(private readonly api: WorkbenchApi) {}

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The owners listed: the user first, then their organizations. */
  get owners(): string[] {
    return this._owners;
  }

  get collections(): ICollection[] {
    return this._collections;
  }

  get loading(): boolean {
    return this._loading;
  }

  get error(): { message: string; hubDown: boolean } | null {
    return this._error;
  }

  isExpanded(slug: string): boolean {
    return this._expanded.has(slug);
  }

  /** The collection with all its items once expanded; the listing's first items until then. */
  details(slug: string): ICollection | undefined {
    return this._details.get(slug) ?? this._collections.find(c => c.slug === slug);
  }

  /** Ask the hub who the user is, then list their collections and their organizations'. */
  async refresh(): Promise<void> {
    const seq = ++this._seq;
    this._loading = true;
    this._changed.emit();
    try {
      const me = await this.api.whoami();
      const owners = [me.name, ...(me.orgs ?? []).map(o => o.name)].filter(Boolean);
      const found = owners.length ? await this.api.collections(owners) : [];
      const expanded = await Promise.all(
        found.filter(c => this._expanded.has(c.slug)).map(c => this.api.collection(c.slug))
      );
      if (seq !== this._seq) {
        return;
      }
      this._owners = owners;
      this._collections = found;
      this._details = new Map(expanded.map(c => [c.slug, c]));
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

  /** Show or hide a collection's items; showing loads all of them. */
  async toggle(slug: string): Promise<void> {
    if (this._expanded.delete(slug)) {
      this._changed.emit();
      return;
    }
    this._expanded.add(slug);
    this._changed.emit();
    try {
      this._details.set(slug, await this.api.collection(slug));
      this._error = null;
    } catch (reason) {
      this._error = describeError(reason);
    }
    this._changed.emit();
  }

  private _changed = new Signal<this, void>(this);
  private _owners: string[] = [];
  private _collections: ICollection[] = [];
  private _details = new Map<string, ICollection>();
  private _expanded = new Set<string>();
  private _loading = false;
  private _error: { message: string; hubDown: boolean } | null = null;
  private _seq = 0;
}
