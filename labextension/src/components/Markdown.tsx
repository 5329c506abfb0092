import { IRenderMimeRegistry, MimeModel } from '@jupyterlab/rendermime';
import React, { useEffect, useRef } from 'react';

/**
 * User markdown (cards, abstracts) rendered by JupyterLab's markdown renderer as untrusted
 * content, so its sanitizer strips scripts, event handlers and `javascript:` links.
 */
export function Markdown(props: {
  rendermime: IRenderMimeRegistry;
  source: string;
  testId?: string;
}): JSX.Element {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const node = host.current;
    if (!node) {
      return;
    }
    const renderer = props.rendermime.createRenderer('text/markdown');
    const model = new MimeModel({ data: { 'text/markdown': props.source }, trusted: false });
    let disposed = false;
    void renderer.renderModel(model).then(() => {
      if (!disposed) {
        node.dataset.rendered = 'true';
      }
    });
    // Plain DOM insertion, not Widget.attach: React removes the host before this effect's
    // cleanup runs, and Lumino refuses to detach a widget that is no longer in the document.
    node.appendChild(renderer.node);
    return () => {
      disposed = true;
      delete node.dataset.rendered;
      renderer.node.remove();
      renderer.dispose();
    };
  }, [props.source, props.rendermime]);
  return <div className="wb-Markdown" ref={host} data-testid={props.testId ?? 'wb-markdown'} />;
}
