import { NotebookActions, NotebookPanel } from '@jupyterlab/notebook';

import { loadCode } from './model';
import { RepoType } from './tokens';

/** Add a code cell that loads the repo (pinned to `commit`) below the active cell. */
export function insertLoadCode(
  panel: NotebookPanel | null,
  type: RepoType,
  id: string,
  commit: string
): NotebookPanel | null {
  if (!panel) {
    return null;
  }
  const notebook = panel.content;
  NotebookActions.insertBelow(notebook);
  const cell = notebook.activeCell;
  if (!cell) {
    return null;
  }
  cell.model.sharedModel.setSource(loadCode(type, id, commit));
  return panel;
}
