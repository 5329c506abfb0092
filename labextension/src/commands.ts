/**
 * The Workbench commands: open a repo, search, insert load code, publish a notebook, comment
 * on a cell; with their palette and context-menu entries.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  InputDialog,
  showDialog,
  showErrorMessage
} from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { WorkbenchApi } from './api';
import { CollectionsModel } from './collections';
import {
  commentOnCell,
  followCellComments,
  notebookLink,
  setNotebookLink,
  showCellComments
} from './comments';
import { AddToCollectionForm, NewCollectionForm } from './components/CollectionForm';
import { PublishForm } from './components/PublishForm';
import { SearchSidebar } from './components/SearchPanel';
import { workbenchIcon } from './icon';
import { insertLoadCode } from './notebook';
import { IInput, IPublished, inputsCode, publishCode, runInKernel } from './publish';
import { CommandIDs, RepoType } from './tokens';

export interface ICommandContext {
  api: WorkbenchApi;
  rendermime: IRenderMimeRegistry;
  notebooks: INotebookTracker;
  palette: ICommandPalette | null;
  sidebar: SearchSidebar;
  collections: CollectionsModel;
  openRepo: (type: RepoType, id: string) => void;
}

/** A command's string argument; the commands are called with JSON arguments. */
function stringArg(args: ReadonlyPartialJSONObject, name: string): string {
  const value = args[name];
  if (typeof value !== 'string') {
    throw new Error(`This command needs the string argument "${name}".`);
  }
  return value;
}

export function registerCommands(app: JupyterFrontEnd, ctx: ICommandContext): void {
  const { api, rendermime, notebooks, palette, sidebar, collections, openRepo } = ctx;
  app.commands.addCommand(CommandIDs.openRepo, {
    label: 'Workbench: Open Repo',
    execute: args => openRepo((args.type as RepoType) ?? 'model', stringArg(args, 'id'))
  });
  app.commands.addCommand(CommandIDs.focusSearch, {
    label: 'Workbench: Search the Hub',
    execute: () => {
      app.shell.activateById(sidebar.id);
      sidebar.focusSearch();
    }
  });
  app.commands.addCommand(CommandIDs.insertLoadCode, {
    label: 'Workbench: Insert Load Code',
    execute: async args => {
      const inserted = insertLoadCode(
        notebooks.currentWidget,
        args.type as RepoType,
        stringArg(args, 'id'),
        stringArg(args, 'commit')
      );
      if (!inserted) {
        await showErrorMessage(
          'No notebook open',
          'Open a notebook (or click into one) first: the load code goes into the active notebook.'
        );
        return;
      }
      app.shell.activateById(inserted.id);
    }
  });
  app.commands.addCommand(CommandIDs.publishNotebook, {
    label: 'Workbench: Publish Notebook…',
    isEnabled: () => notebooks.currentWidget !== null,
    execute: async () => {
      const panel = notebooks.currentWidget;
      if (!panel) {
        return;
      }
      try {
        await panel.context.save();
        const inputs = await runInKernel<IInput[]>(panel, inputsCode());
        const stem = PathExt.basename(panel.context.path, '.ipynb').replace(
          /[^A-Za-z0-9._-]/g,
          '-'
        );
        const status = await api.status().catch(() => null);
        const form = new PublishForm(
          {
            repo: `${status?.user ?? 'me'}/${stem}`,
            message: `Publish ${PathExt.basename(panel.context.path)}`
          },
          inputs
        );
        const answer = await showDialog({
          title: 'Publish notebook to the Workbench hub',
          body: form,
          buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Publish' })]
        });
        if (!answer.button.accept) {
          return;
        }
        const { repo, message } = form.getValue();
        const path = PathExt.basename(panel.context.path);
        // The link goes into the notebook first, so the published copy carries it too.
        setNotebookLink(panel, { repo, type: 'model', path });
        await panel.context.save();
        const done = await runInKernel<IPublished>(panel, publishCode(path, repo, message));
        await showDialog({
          title: 'Notebook published',
          body: `${done.repo} at commit ${done.commit.slice(0, 12)}${done.created ? ' (new repo)' : ''}.`,
          buttons: [
            Dialog.okButton({ label: 'Open repo' }),
            Dialog.cancelButton({ label: 'Close' })
          ]
        }).then(r => r.button.accept && openRepo('model', done.repo));
      } catch (reason) {
        await showErrorMessage(
          'Publishing failed',
          reason instanceof Error ? reason.message : String(reason)
        );
      }
    }
  });
  app.commands.addCommand(CommandIDs.newCollection, {
    label: 'Workbench: New Collection…',
    caption: 'Create a collection in the Workbench hub',
    execute: async () => {
      if (collections.owners.length === 0) {
        await collections.refresh();
      }
      const form = new NewCollectionForm(collections.owners);
      const answer = await showDialog({
        title: 'New collection',
        body: form,
        buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Create' })]
      });
      const value = form.getValue();
      if (!answer.button.accept || !value.title) {
        return;
      }
      try {
        await api.createCollection({
          title: value.title,
          private: value.private,
          ...(value.namespace ? { namespace: value.namespace } : {})
        });
        await collections.refresh();
      } catch (reason) {
        await showErrorMessage(
          'Collection not created',
          reason instanceof Error ? reason.message : String(reason)
        );
      }
    }
  });
  app.commands.addCommand(CommandIDs.addToCollection, {
    label: 'Workbench: Add to Collection…',
    caption: 'Add a repo to one of your collections',
    execute: async args => {
      const type = (args.type as RepoType) ?? 'model';
      const id = stringArg(args, 'id');
      await collections.refresh();
      if (collections.collections.length === 0) {
        await showErrorMessage(
          'No collections yet',
          'Create one first with "New collection…" in the Workbench sidebar.'
        );
        return;
      }
      const form = new AddToCollectionForm(collections.collections);
      const answer = await showDialog({
        title: `Add ${id} to a collection`,
        body: form,
        buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Add' })]
      });
      const { slug, note } = form.getValue();
      if (!answer.button.accept || !slug) {
        return;
      }
      try {
        await api.addCollectionItem(slug, type, id, note);
        await collections.refresh();
      } catch (reason) {
        await showErrorMessage(
          'Not added',
          reason instanceof Error ? reason.message : String(reason)
        );
      }
    }
  });
  app.commands.addCommand(CommandIDs.commentCell, {
    label: 'Workbench: Comment on Cell…',
    caption: 'Comment on this cell in the Workbench hub (the notebook must be published)',
    icon: workbenchIcon,
    isEnabled: () => notebooks.activeCell !== null,
    execute: async () => {
      const panel = notebooks.currentWidget;
      const cell = notebooks.activeCell;
      if (!panel || !cell) {
        return;
      }
      const link = notebookLink(panel);
      if (!link) {
        await showErrorMessage(
          'Publish the notebook first',
          'Comments live in the hub, next to the published notebook: run "Workbench: Publish Notebook…" first.'
        );
        return;
      }
      const answer = await InputDialog.getText({
        title: `Comment on this cell (${link.repo}/${link.path})`,
        placeholder: 'Your comment (markdown)'
      });
      if (!answer.button.accept || !answer.value?.trim()) {
        return;
      }
      try {
        await commentOnCell(api, link, cell.model.id, answer.value.trim());
        await showCellComments(api, rendermime, panel);
      } catch (reason) {
        await showErrorMessage(
          'Comment not saved',
          reason instanceof Error ? reason.message : String(reason)
        );
      }
    }
  });
  app.contextMenu.addItem({
    command: CommandIDs.commentCell,
    selector: '.jp-Notebook .jp-Cell',
    rank: 101
  });
  notebooks.widgetAdded.connect((_, panel) => followCellComments(api, rendermime, panel));
  palette?.addItem({ command: CommandIDs.commentCell, category: 'Workbench' });
  palette?.addItem({ command: CommandIDs.focusSearch, category: 'Workbench' });
  palette?.addItem({ command: CommandIDs.publishNotebook, category: 'Workbench' });
  palette?.addItem({ command: CommandIDs.newCollection, category: 'Workbench' });
  app.contextMenu.addItem({
    command: CommandIDs.publishNotebook,
    selector: '.jp-Notebook',
    rank: 100
  });
}
