/**
 * "Publish to Workbench…" and "New Workbench Repo…" in the file browser: a file or folder
 * into a repo as one commit, followed in a progress notification.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';

import { WorkbenchApi } from './api';
import { RepoForm } from './components/RepoForm';
import { describeError } from './model';
import { CommandIDs, IPublishTask, RepoType } from './tokens';

const POLL_MS = 500;

/** What a publish's events say so far, for its notification. */
export function publishProgress(
  task: IPublishTask,
  seen: IPublishTask['events']
): {
  message: string;
  progress?: number;
} {
  const last = [...seen].reverse().find(e => e.event === 'upload');
  if (!last || !last.total) {
    return { message: `Publishing to ${task.request?.repo ?? 'the hub'}…` };
  }
  const mb = (n: number) => (n / 2 ** 20).toFixed(1);
  return {
    message: `${last.step ?? 'Uploading'} ${mb(last.done ?? 0)} of ${mb(last.total)} MB`,
    progress: (last.done ?? 0) / last.total
  };
}

async function defaultNamespace(api: WorkbenchApi): Promise<string> {
  try {
    return (await api.whoami()).name;
  } catch {
    return '';
  }
}

export function registerFileCommands(
  app: JupyterFrontEnd,
  api: WorkbenchApi,
  browser: IDefaultFileBrowser | null,
  openRepo: (type: RepoType, id: string) => void
): void {
  app.commands.addCommand(CommandIDs.publishPath, {
    label: 'Publish to Workbench…',
    caption: 'Commit this file or folder to a Workbench hub repo',
    isEnabled: () => !!browser?.selectedItems().next(),
    execute: async () => {
      const item = browser?.selectedItems().next();
      if (!item || item.done) {
        return;
      }
      const path = item.value.path;
      const base = PathExt.basename(path).replace(/\.[^.]+$/, '') || 'repo';
      const form = new RepoForm({
        repo: `${await defaultNamespace(api)}/${base}`,
        message: `Publish ${PathExt.basename(path)}`,
        what: path
      });
      const answer = await showDialog({
        title: 'Publish to Workbench',
        body: form,
        buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Publish' })]
      });
      if (!answer.button.accept) {
        return;
      }
      const value = form.getValue();
      const id = Notification.emit(`Publishing ${path} to ${value.repo}…`, 'in-progress', {
        autoClose: false,
        progress: 0
      });
      try {
        let task = await api.publish({ path, ...value });
        const seen = [...task.events];
        while (task.status === 'queued' || task.status === 'running') {
          await new Promise(resolve => setTimeout(resolve, POLL_MS));
          task = await api.publishTask(task.id, seen.length);
          seen.push(...task.events);
          Notification.update({ id, type: 'in-progress', ...publishProgress(task, seen) });
        }
        const record = task.record;
        if (task.status !== 'succeeded' || !record || record.error) {
          throw new Error(record?.error?.message ?? 'The publish failed.');
        }
        const what = record.unchanged
          ? `${record.repo} already had these files`
          : `${record.repo} at ${(record.commit ?? '').slice(0, 12)} (${record.files} file${record.files === 1 ? '' : 's'})`;
        Notification.update({
          id,
          type: 'success',
          message: `Published: ${what}.`,
          autoClose: 8000,
          actions: [{ label: 'Open repo', callback: () => openRepo(value.type, record.repo) }]
        });
      } catch (reason) {
        Notification.update({
          id,
          type: 'error',
          message: `Publishing ${path} failed: ${describeError(reason).message}`,
          autoClose: false
        });
      }
    }
  });

  app.commands.addCommand(CommandIDs.createRepo, {
    label: 'New Workbench Repo…',
    caption: 'Create an empty repo on the Workbench hub',
    execute: async () => {
      const form = new RepoForm({ repo: `${await defaultNamespace(api)}/` });
      const answer = await showDialog({
        title: 'New Workbench repo',
        body: form,
        buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Create' })]
      });
      if (!answer.button.accept) {
        return;
      }
      const value = form.getValue();
      try {
        await api.createRepo(value.type, value.repo, value.private);
        Notification.success(`Created ${value.type} ${value.repo}.`, { autoClose: 5000 });
        openRepo(value.type, value.repo);
      } catch (reason) {
        Notification.error(`Creating ${value.repo} failed: ${describeError(reason).message}`, {
          autoClose: false
        });
      }
    }
  });

  app.contextMenu.addItem({
    command: CommandIDs.publishPath,
    selector: '.jp-DirListing-item[data-isdir]',
    rank: 60
  });
  app.contextMenu.addItem({
    command: CommandIDs.createRepo,
    selector: '.jp-DirListing-content',
    rank: 61
  });
}
