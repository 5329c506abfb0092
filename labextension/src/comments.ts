/**
 * Comments on notebook cells: anchored to the cell's id in the published notebook (the
 * notebook metadata `workbench` says which repo and path), shown under each cell. Comment
 * text is user markdown, rendered untrusted through JupyterLab's sanitizer.
 */
import { Cell } from '@jupyterlab/cells';
import { NotebookPanel } from '@jupyterlab/notebook';
import { IRenderMimeRegistry, MimeModel } from '@jupyterlab/rendermime';
import { Message, MessageLoop } from '@lumino/messaging';

import { WorkbenchApi } from './api';
import { formatAgo } from './model';
import { ICellComment, INotebookLink, RepoType } from './tokens';

const NODE_CLASS = 'wb-CellComments';

export function notebookLink(panel: NotebookPanel): INotebookLink | null {
  const meta = panel.model?.getMetadata('workbench') as Partial<INotebookLink> | undefined;
  if (!meta || typeof meta.repo !== 'string' || typeof meta.path !== 'string') {
    return null;
  }
  return { repo: meta.repo, path: meta.path, type: (meta.type as RepoType) ?? 'model' };
}

export function setNotebookLink(panel: NotebookPanel, link: INotebookLink): void {
  panel.model?.setMetadata('workbench', { ...link });
}

export function threadTitle(path: string): string {
  return `Comments on ${path}`;
}

/** Add a comment anchored to `cell`, in the notebook's comment thread (made on first use). */
export async function commentOnCell(
  api: WorkbenchApi,
  link: INotebookLink,
  cellId: string,
  text: string
): Promise<void> {
  const anchor = { path: link.path, cell: cellId };
  const title = threadTitle(link.path);
  const open = await api.discussions(link.type, link.repo);
  const thread = open.discussions.find(d => d.title === title);
  if (thread) {
    await api.comment(link.type, link.repo, thread.num, { comment: text, anchor });
  } else {
    await api.createDiscussion(link.type, link.repo, { title, description: text, anchor });
  }
}

function renderComment(rendermime: IRenderMimeRegistry, c: ICellComment): HTMLElement {
  const item = document.createElement('div');
  item.className = 'wb-CellComment';
  item.dataset.comment = c.id;
  const head = document.createElement('div');
  head.className = 'wb-CellComment-head';
  head.textContent = `${c.author} · ${formatAgo(c.createdAt)}${c.changed ? ' · cell changed since' : ''}`;
  item.appendChild(head);
  const renderer = rendermime.createRenderer('text/markdown');
  void renderer.renderModel(
    new MimeModel({
      data: { 'text/markdown': c.hidden ? '*(hidden)*' : c.content },
      trusted: false
    })
  );
  item.appendChild(renderer.node);
  return item;
}

// What each open notebook shows, so that a refresh that brings nothing new touches nothing.
const shownState = new WeakMap<NotebookPanel, string>();

/** Show each cell's comments under it (replacing what was shown before, if it changed). */
export async function showCellComments(
  api: WorkbenchApi,
  rendermime: IRenderMimeRegistry,
  panel: NotebookPanel
): Promise<number> {
  const link = notebookLink(panel);
  if (!link) {
    return 0;
  }
  const answer = await api.fileComments(link.type, link.repo, link.path);
  const byCell = new Map<string, ICellComment[]>();
  for (const group of answer.cells ?? []) {
    byCell.set(group.cell, group.comments);
  }
  const state =
    JSON.stringify(
      [...byCell].map(([cell, cs]) => [cell, cs.map(c => [c.id, c.hidden, c.changed, c.content])])
    ) + `|${panel.content.widgets.length}`;
  if (shownState.get(panel) === state) {
    return [...byCell.values()].reduce((n, cs) => n + cs.length, 0);
  }
  shownState.set(panel, state);
  let shown = 0;
  panel.content.widgets.forEach((cell: Cell) => {
    cell.node.querySelector(`:scope > .${NODE_CLASS}`)?.remove();
    const comments = byCell.get(cell.model.id);
    if (!comments || comments.length === 0) {
      return;
    }
    const box = document.createElement('div');
    box.className = NODE_CLASS;
    box.dataset.testid = 'wb-cell-comments';
    comments.forEach(c => box.appendChild(renderComment(rendermime, c)));
    cell.node.appendChild(box);
    shown += comments.length;
  });
  return shown;
}

/** How often an open, visible notebook asks the hub for new comments. */
export const COMMENTS_REFRESH_MS = 30_000;
const ACTIVATE_REFRESH_MS = 3_000;

/**
 * Keep a notebook's cell comments current while it is open: when it opens, each time it
 * becomes the active tab again, and every {@link COMMENTS_REFRESH_MS} while it is shown.
 */
export function followCellComments(
  api: WorkbenchApi,
  rendermime: IRenderMimeRegistry,
  panel: NotebookPanel
): void {
  let last = 0;
  const refresh = () => {
    if (!panel.isDisposed) {
      last = Date.now();
      void showCellComments(api, rendermime, panel).catch(() => undefined);
    }
  };
  void panel.context.ready.then(refresh).catch(() => undefined);
  const timer = window.setInterval(() => panel.isVisible && refresh(), COMMENTS_REFRESH_MS);
  // coming back to the notebook's tab asks again (at most every few seconds)
  const hook = (_: unknown, msg: Message): boolean => {
    if (msg.type === 'activate-request' && Date.now() - last > ACTIVATE_REFRESH_MS) {
      refresh();
    }
    return true;
  };
  MessageLoop.installMessageHook(panel, hook);
  panel.disposed.connect(() => {
    window.clearInterval(timer);
    MessageLoop.removeMessageHook(panel, hook);
  });
}
