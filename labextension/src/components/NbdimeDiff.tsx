import type { CodeEditor } from '@jupyterlab/codeeditor';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Panel, Widget } from '@lumino/widgets';
import { createEditorFactory } from 'nbdime/lib/common/editor';
import { CellDiffModel, NotebookDiffModel } from 'nbdime/lib/diff/model';
import { CellDiffWidget, MetadataDiffWidget, NotebookDiffWidget } from 'nbdime/lib/diff/widget';
import React, { useLayoutEffect, useRef } from 'react';

import { INbdimeDiff, IReviewAnchor } from '../tokens';

/** Where a cell of nbdime's diff sits in the old and the new notebook. */
export interface ICellPlace {
  old: number | null;
  new: number | null;
}

/** The old and new index of each cell of nbdime's model (base order, additions where they
 * go in the new notebook: the order nbdime lists them in). */
export function cellPlaces(model: NotebookDiffModel): Map<CellDiffModel, ICellPlace> {
  const places = new Map<CellDiffModel, ICellPlace>();
  let i = 0;
  let j = 0;
  for (const cell of model.cells) {
    if (cell.added) {
      places.set(cell, { old: null, new: j++ });
    } else if (cell.deleted) {
      places.set(cell, { old: i++, new: null });
    } else {
      places.set(cell, { old: i++, new: j++ });
    }
  }
  return places;
}

function cellWidgets(widget: Widget): CellDiffWidget[] {
  if (widget instanceof CellDiffWidget) {
    return [widget];
  }
  if (widget instanceof Panel) {
    return widget.widgets.flatMap(cellWidgets);
  }
  return [];
}

function kindOf(cell: CellDiffModel): string {
  return cell.added ? 'added' : cell.deleted ? 'removed' : cell.unchanged ? 'unchanged' : 'changed';
}

function button(label: string, testid: string, title: string, onClick: () => void): HTMLElement {
  const b = document.createElement('button');
  b.className = 'jp-mod-styled wb-Cell-comment';
  b.textContent = label;
  b.title = title;
  b.dataset.testid = testid;
  b.addEventListener('click', onClick);
  return b;
}

/** Names each cell of the rendered diff (its kind and indices on both sides) and, in a
 * pull request, gives it buttons to comment on its source or its outputs. */
function anchorCells(
  widget: NotebookDiffWidget,
  path: string,
  onComment?: (anchor: IReviewAnchor) => void
): void {
  const places = cellPlaces(widget.model);
  for (const cell of widget.widgets.flatMap(cellWidgets)) {
    const place = places.get(cell.model);
    if (!place) {
      continue;
    }
    const side: 'old' | 'new' = place.new !== null ? 'new' : 'old';
    const index = (side === 'new' ? place.new : place.old) ?? 0;
    const node = cell.node;
    node.dataset.testid = 'wb-nb-cell';
    node.dataset.kind = kindOf(cell.model);
    node.dataset.index = String(index);
    node.dataset.oldIndex = place.old === null ? '' : String(place.old);
    node.dataset.newIndex = place.new === null ? '' : String(place.new);
    if (!onComment) {
      continue;
    }
    const bar = document.createElement('div');
    bar.className = 'wb-NbdimeCell-actions';
    bar.appendChild(
      button('Comment', 'wb-nb-cell-comment', 'Comment on this cell in the review', () =>
        onComment({ path, side, cell: index, part: 'source' })
      )
    );
    if (cell.model.outputs?.length) {
      bar.appendChild(
        button('Comment on output', 'wb-nb-output-comment', "Comment on this cell's output", () =>
          onComment({ path, side, cell: index, part: 'output' })
        )
      );
    }
    node.insertBefore(bar, node.firstChild);
  }
}

let editors: CodeEditor.Factory | null = null;

/** How long one animation frame may spend building cell widgets before yielding. */
const FRAME_BUDGET_MS = 40;

/** nbdime's `NotebookDiffWidget`, building as many chunks of cells per animation frame as fit
 * in `FRAME_BUDGET_MS` instead of one: nbdime's own `init` waits a frame after every chunk,
 * a floor of a second per 60 changed cells whatever the machine. The widgets it builds are
 * nbdime's own, in nbdime's order and panels. */
class SlicedNotebookDiffWidget extends NotebookDiffWidget {
  init(): Promise<void> {
    // DiffPanel's fields (private in nbdime's typings), as nbdime's own init reads them
    const own = this as unknown as {
      _model: NotebookDiffModel;
      _rendermime: IRenderMimeRegistry;
      _editorFactory: CodeEditor.Factory | undefined;
      _translator: unknown;
      _viewOptions: Record<string, unknown>;
    };
    const model = own._model;
    const options = {
      rendermime: own._rendermime,
      mimetype: model.mimetype,
      editorFactory: own._editorFactory,
      translator: own._translator,
      ...own._viewOptions
    } as ConstructorParameters<typeof CellDiffWidget>[0];
    if (model.metadata) {
      this.addWidget(new MetadataDiffWidget({ ...options, model: model.metadata }));
    }
    const chunks = [...model.chunkedCells];
    const addChunk = (chunk: CellDiffModel[]): void => {
      if (chunk.length === 1 && !(chunk[0].added || chunk[0].deleted)) {
        this.addWidget(new CellDiffWidget({ ...options, model: chunk[0] }));
        return;
      }
      const panel = new Panel();
      panel.addClass('jp-Diff-addremchunk');
      const added = new Panel();
      added.addClass('jp-Diff-addedchunk');
      const removed = new Panel();
      removed.addClass('jp-Diff-removedchunk');
      for (const cell of chunk) {
        (cell.deleted ? removed : added).addWidget(new CellDiffWidget({ ...options, model: cell }));
      }
      panel.addWidget(added);
      panel.addWidget(removed);
      this.addWidget(panel);
    };
    return new Promise(resolve => {
      const slice = (): void => {
        const start = performance.now();
        while (chunks.length && performance.now() - start < FRAME_BUDGET_MS) {
          addChunk(chunks.shift()!);
        }
        if (chunks.length && !this.isDisposed) {
          requestAnimationFrame(slice);
        } else {
          resolve();
        }
      };
      slice();
    });
  }
}

/** nbdime's own notebook diff widget (`NotebookDiffWidget`) for the hub's `{base, diff}`,
 * its outputs rendered by the app's rendermime as untrusted (the hub sent them sanitized). */
export function NbdimeDiff(props: {
  rendermime: IRenderMimeRegistry;
  path: string;
  diff: INbdimeDiff;
  hideUnchanged: boolean;
  onComment?: (anchor: IReviewAnchor) => void;
}): JSX.Element {
  const host = useRef<HTMLDivElement>(null);
  const onComment = useRef(props.onComment);
  onComment.current = props.onComment;
  // a layout effect: its cleanup runs while the host is still in the page, where Lumino
  // can detach the widget (a passive effect's cleanup runs after React removed it)
  useLayoutEffect(() => {
    const node = host.current;
    if (!node) {
      return;
    }
    editors ??= createEditorFactory();
    const model = new NotebookDiffModel(props.diff.base, props.diff.diff);
    if (props.hideUnchanged) {
      // nbdime's widget draws one chunk per animation frame, hidden or not: leaving the
      // unchanged cells out of what it draws is what keeps a large notebook quick
      model.chunkedCells = model.chunkedCells.filter(
        chunk => chunk.length > 1 || !chunk[0].unchanged
      );
    }
    const widget = new SlicedNotebookDiffWidget({
      model,
      rendermime: props.rendermime,
      editorFactory: editors
    });
    let disposed = false;
    node.dataset.rendered = 'false';
    Widget.attach(widget, node);
    void widget.init().then(() => {
      if (disposed) {
        return;
      }
      anchorCells(
        widget,
        props.path,
        props.onComment ? anchor => onComment.current?.(anchor) : undefined
      );
      node.dataset.rendered = 'true';
    });
    return () => {
      disposed = true;
      if (widget.isAttached && widget.node.isConnected) {
        Widget.detach(widget);
      } else if (widget.isAttached) {
        widget.clearFlag(Widget.Flag.IsAttached); // already out of the page with its host
      }
      widget.dispose();
    };
  }, [
    props.diff,
    props.rendermime,
    props.path,
    props.hideUnchanged,
    props.onComment === undefined
  ]);
  return <div ref={host} className="wb-NbdimeDiff nbdime-root" data-testid="wb-cell-diff" />;
}
