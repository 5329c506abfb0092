import { ReactWidget } from '@jupyterlab/ui-components';
import React from 'react';

import { RepoType } from '../tokens';

export type PublishType = Exclude<RepoType, 'paper'>;

export interface IRepoFormValue {
  repo: string;
  type: PublishType;
  private: boolean;
  message: string;
}

/**
 * The body of "Publish to Workbench…" (with `message`: which repo the file or folder goes
 * to, in one commit) and of "New Workbench Repo…" (without: a repo to create).
 */
export class RepoForm extends ReactWidget {
  constructor(private readonly defaults: { repo: string; message?: string; what?: string }) {
    super();
    this.addClass('wb-PublishForm');
    this.value = {
      repo: defaults.repo,
      type: 'model',
      private: false,
      message: defaults.message ?? ''
    };
  }

  value: IRepoFormValue;

  getValue(): IRepoFormValue {
    return { ...this.value, repo: this.value.repo.trim(), message: this.value.message.trim() };
  }

  render(): JSX.Element {
    const set = (patch: Partial<IRepoFormValue>) => (this.value = { ...this.value, ...patch });
    return (
      <div>
        {this.defaults.what && (
          <p>
            <code>{this.defaults.what}</code> goes into the repo in one commit (a folder&apos;s
            files at its root); the repo is created if it does not exist.
          </p>
        )}
        <label className="wb-Filter">
          Repo (namespace/name)
          <input
            className="jp-mod-styled"
            data-testid="wb-repo-form-repo"
            defaultValue={this.defaults.repo}
            onChange={e => set({ repo: e.target.value })}
          />
        </label>
        <label className="wb-Filter">
          Type
          <select
            className="jp-mod-styled"
            data-testid="wb-repo-form-type"
            defaultValue="model"
            onChange={e => set({ type: e.target.value as PublishType })}
          >
            <option value="model">model</option>
            <option value="dataset">dataset</option>
            <option value="space">space</option>
          </select>
        </label>
        <label className="wb-Filter">
          <input
            type="checkbox"
            data-testid="wb-repo-form-private"
            onChange={e => set({ private: e.target.checked })}
          />
          Private (when created)
        </label>
        {this.defaults.message !== undefined && (
          <label className="wb-Filter">
            Message
            <input
              className="jp-mod-styled"
              data-testid="wb-repo-form-message"
              defaultValue={this.defaults.message}
              onChange={e => set({ message: e.target.value })}
            />
          </label>
        )}
      </div>
    );
  }
}
