import { RenderMimeRegistry, standardRendererFactories } from '@jupyterlab/rendermime';
import { Sanitizer } from '@jupyterlab/apputils';
import { ReactWidget } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';
import { NotebookDiffModel } from 'nbdime/lib/diff/model';
import React from 'react';

import { cellPlaces, NbdimeDiff } from '../components/NbdimeDiff';
import { INbdimeDiff, IReviewAnchor } from '../tokens';

const EVIL =
  '<table><tr><td>t</td></tr></table><script>window.__wbJest = 1</script>' +
  '<img src=x onerror="window.__wbJest = 2">';

const code = (id: string, source: string, html?: string) => ({
  id,
  cell_type: 'code',
  metadata: {},
  execution_count: null,
  source,
  outputs: html
    ? [
        {
          output_type: 'display_data',
          metadata: {},
          data: { 'text/html': html, 'text/plain': 't' }
        }
      ]
    : []
});

/** nbdime's diff of [title, plot, gone] to [title, plot (edited, new output), fresh], as the
 * hub answers it, with an output that was NOT sanitized on the way: the lab must not run it. */
const PAYLOAD = {
  base: {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {},
    cells: [
      { id: 't', cell_type: 'markdown', metadata: {}, source: '# T' },
      code('p', 'plot(x)', '<b>a</b>'),
      code('g', 'old = 1')
    ]
  },
  diff: [
    {
      op: 'patch',
      key: 'cells',
      diff: [
        {
          op: 'patch',
          key: 1,
          diff: [
            {
              op: 'patch',
              key: 'outputs',
              diff: [
                { op: 'addrange', key: 0, valuelist: code('p', '', EVIL).outputs },
                { op: 'removerange', key: 0, length: 1 }
              ]
            },
            {
              op: 'patch',
              key: 'source',
              diff: [
                { op: 'addrange', key: 0, valuelist: ['plot(x, log=True)'] },
                { op: 'removerange', key: 0, length: 1 }
              ]
            }
          ]
        },
        { op: 'removerange', key: 2, length: 1 },
        { op: 'addrange', key: 3, valuelist: [code('n', 'new = 1')] }
      ]
    }
  ]
} as unknown as INbdimeDiff;

function rendermime(): RenderMimeRegistry {
  return new RenderMimeRegistry({
    initialFactories: standardRendererFactories,
    sanitizer: new Sanitizer()
  });
}

async function rendered(node: HTMLElement): Promise<void> {
  for (let i = 0; i < 200 && node.querySelector('[data-rendered=true]') === null; i++) {
    await new Promise(resolve => setTimeout(resolve, 25));
  }
  expect(node.querySelector('[data-rendered=true]')).not.toBeNull();
}

describe('NbdimeDiff', () => {
  it('places each cell of nbdime’s model in the old and the new notebook', () => {
    const model = new NotebookDiffModel(PAYLOAD.base, PAYLOAD.diff);
    const places = [...cellPlaces(model).values()];
    expect(places).toEqual([
      { old: 0, new: 0 },
      { old: 1, new: 1 },
      { old: 2, new: null },
      { old: null, new: 2 }
    ]);
  });

  it('renders nbdime’s widget, names its cells and comments on a source or an output', async () => {
    const anchors: IReviewAnchor[] = [];
    const widget = ReactWidget.create(
      <NbdimeDiff
        rendermime={rendermime()}
        path="nb.ipynb"
        diff={PAYLOAD}
        hideUnchanged={true}
        onComment={anchor => anchors.push(anchor)}
      />
    );
    Widget.attach(widget, document.body);
    await rendered(widget.node);
    const root = widget.node.querySelector('[data-testid=wb-cell-diff]')!;
    expect(root.querySelector('.jp-Notebook-diff')).not.toBeNull();
    const cells = [...root.querySelectorAll<HTMLElement>('[data-testid=wb-nb-cell]')];
    const kinds: Record<string, HTMLElement> = Object.fromEntries(
      cells.map(c => [c.dataset.kind ?? '', c])
    );
    expect(Object.keys(kinds).sort()).toEqual(['added', 'changed', 'removed']); // unchanged: hidden
    expect(kinds.removed.dataset.index).toBe('2');
    expect(kinds.added.dataset.newIndex).toBe('2');
    const changed = kinds.changed;
    expect(changed.classList.contains('jp-Cell-diff')).toBe(true);
    (changed.querySelector('[data-testid=wb-nb-cell-comment]') as HTMLElement).click();
    (changed.querySelector('[data-testid=wb-nb-output-comment]') as HTMLElement).click();
    (kinds.removed.querySelector('[data-testid=wb-nb-cell-comment]') as HTMLElement).click();
    expect(anchors).toEqual([
      { path: 'nb.ipynb', side: 'new', cell: 1, part: 'source' },
      { path: 'nb.ipynb', side: 'new', cell: 1, part: 'output' },
      { path: 'nb.ipynb', side: 'old', cell: 2, part: 'source' }
    ]);
    widget.dispose();
  });

  it('renders outputs as untrusted: a script or an onerror in them never runs', async () => {
    const widget = ReactWidget.create(
      <NbdimeDiff rendermime={rendermime()} path="nb.ipynb" diff={PAYLOAD} hideUnchanged={false} />
    );
    Widget.attach(widget, document.body);
    await rendered(widget.node);
    const kinds = [...widget.node.querySelectorAll<HTMLElement>('[data-testid=wb-nb-cell]')].map(
      c => c.dataset.kind
    );
    expect(kinds).toContain('unchanged'); // shown when not hidden
    const outputs = widget.node.querySelector('.jp-Cellrow-outputs')!;
    expect(outputs.querySelectorAll('table').length).toBe(1);
    expect(outputs.querySelector('script')).toBeNull();
    expect(outputs.querySelector('img[onerror]')).toBeNull();
    expect((window as unknown as { __wbJest?: number }).__wbJest).toBeUndefined();
    expect(widget.node.querySelector('[data-testid=wb-nb-cell-comment]')).toBeNull();
    widget.dispose();
  });
});
