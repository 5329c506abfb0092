import { ReactWidget } from '@jupyterlab/ui-components';
import React from 'react';

import { IInput } from '../publish';

/** The body of the "Publish notebook…" dialog: target repo, message, and the inputs listed. */
export class PublishForm extends ReactWidget {
  constructor(
    private readonly defaults: { repo: string; message: string },
    private readonly inputs: IInput[]
  ) {
    super();
    this.addClass('wb-PublishForm');
    this.repo = defaults.repo;
    this.message = defaults.message;
  }

  repo: string;
  message: string;

  getValue(): { repo: string; message: string } {
    return { repo: this.repo.trim(), message: this.message.trim() };
  }

  render(): JSX.Element {
    return (
      <div>
        <label className="wb-Filter">
          Repo
          <input
            className="jp-mod-styled"
            data-testid="wb-publish-repo"
            defaultValue={this.defaults.repo}
            onChange={e => (this.repo = e.target.value)}
          />
        </label>
        <label className="wb-Filter">
          Message
          <input
            className="jp-mod-styled"
            data-testid="wb-publish-message"
            defaultValue={this.defaults.message}
            onChange={e => (this.message = e.target.value)}
          />
        </label>
        <p>The card lists what this notebook loaded from the hub:</p>
        {this.inputs.length === 0 ? (
          <p className="wb-Empty" data-testid="wb-publish-inputs">
            Nothing loaded with wb.load_* in this kernel yet.
          </p>
        ) : (
          <ul data-testid="wb-publish-inputs">
            {this.inputs.map(i => (
              <li key={`${i.type}/${i.repo}@${i.commit}`}>
                {i.type} {i.repo} @ <code>{i.commit.slice(0, 12)}</code>
              </li>
            ))}
          </ul>
        )}
      </div>
    );
  }
}
