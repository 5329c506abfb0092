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

/** Names a cell of the rendered diff (its kind and indices on both sides, from ``places``)
 * and, in a pull request, gives it buttons to comment on its source or its outputs. */
function anchorCell(
  cell: CellDiffWidget,
  places: Map<CellDiffModel, ICellPlace>,
  path: string,
  onComment?: (anchor: IReviewAnchor) => void
): void {
  const place = places.get(cell.model);
  if (!place) {
    return;
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
    return;
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

let editors: CodeEditor.Factory | null = null;

/** How long one animation frame may spend building cell widgets before yielding. */
const FRAME_BUDGET_MS = 40;
/** Built at once: the cells that fill this many screen heights; the rest as they come near. */
const EAGER_SCREENS = 1;
/** A cell not built yet stands in at this height until one is built to measure. */
const GUESSED_CELL_PX = 200;

/** nbdime's `NotebookDiffWidget`, drawing the cells in view first and the others as they
 * scroll near, and as many chunks of cells per animation frame as fit in `FRAME_BUDGET_MS`.
 * nbdime's own `init` builds every chunk (CodeMirror merge editors for each changed cell)
 * and waits a frame after each; a pull request with hundreds of changed cells took seconds
 * to show. The widgets are nbdime's own, in nbdime's order and panels; `init` resolves once
 * the first screens are drawn, and `onCells` hears of every cell widget built, then or later. */
class LazyNotebookDiffWidget extends NotebookDiffWidget {
  onCells: (cells: CellDiffWidget[]) => void = () => undefined;
  private _observer: IntersectionObserver | null = null;

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
    const build = (chunk: CellDiffModel[]): Widget => {
      if (chunk.length === 1 && !(chunk[0].added || chunk[0].deleted)) {
        return new CellDiffWidget({ ...options, model: chunk[0] });
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
      return panel;
    };
    let builtCells = 0;
    const built = (widget: Widget): void => {
      const cells = cellWidgets(widget);
      builtCells += cells.length;
      this.onCells(cells);
    };
    const chunks = [...model.chunkedCells];
    const lazy = typeof IntersectionObserver !== 'undefined';
    const full = (): boolean =>
      lazy && this.node.getBoundingClientRect().height > EAGER_SCREENS * window.innerHeight;
    return new Promise(resolve => {
      const slice = (): void => {
        const start = performance.now();
        while (chunks.length && !full() && performance.now() - start < FRAME_BUDGET_MS) {
          const widget = build(chunks.shift()!);
          this.addWidget(widget);
          built(widget);
        }
        if (this.isDisposed) {
          resolve();
        } else if (chunks.length && !full()) {
          requestAnimationFrame(slice);
        } else {
          this._defer(chunks, build, built, builtCells);
          resolve();
        }
      };
      slice();
    });
  }

  /** Stand-ins for ``chunks``, each built when it comes within a screen of the view. */
  private _defer(
    chunks: CellDiffModel[][],
    build: (chunk: CellDiffModel[]) => Widget,
    built: (widget: Widget) => void,
    builtCells: number
  ): void {
    if (!chunks.length) {
      return;
    }
    const cellPx = builtCells
      ? this.node.getBoundingClientRect().height / builtCells
      : GUESSED_CELL_PX;
    const pending = new Map<Element, { stand: Widget; chunk: CellDiffModel[] }>();
    this._observer = new IntersectionObserver(
      entries => {
        for (const entry of entries) {
          const item = entry.isIntersecting ? pending.get(entry.target) : undefined;
          if (!item || this.isDisposed) {
            continue;
          }
          pending.delete(entry.target);
          this._observer?.unobserve(entry.target);
          const widget = build(item.chunk);
          this.insertWidget(this.widgets.indexOf(item.stand), widget);
          item.stand.dispose();
          built(widget);
        }
      },
      { rootMargin: '100% 0px' }
    );
    for (const chunk of chunks) {
      const stand = new Widget();
      stand.addClass('wb-NbdimeDiff-pending');
      stand.node.style.height = `${Math.round(cellPx * chunk.length)}px`;
      this.addWidget(stand);
      pending.set(stand.node, { stand, chunk });
      this._observer.observe(stand.node);
    }
  }

  dispose(): void {
    this._observer?.disconnect();
    this._observer = null;
    super.dispose();
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
    const widget = new LazyNotebookDiffWidget({
      model,
      rendermime: props.rendermime,
      editorFactory: editors
    });
    const places = cellPlaces(model);
    const comment = props.onComment
      ? (anchor: IReviewAnchor) => onComment.current?.(anchor)
      : undefined;
    widget.onCells = cells => {
      for (const cell of cells) {
        anchorCell(cell, places, props.path, comment);
      }
    };
    let disposed = false;
    node.dataset.rendered = 'false';
    Widget.attach(widget, node);
    void widget.init().then(() => {
      if (!disposed) {
        node.dataset.rendered = 'true';
      }
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
