/**
 * "Publish notebook…": runs `wb.publish_notebook` in the notebook's own kernel, because
 * the inputs a notebook loaded (`wb.inputs()`) live in that kernel's session.
 */
import { NotebookPanel } from '@jupyterlab/notebook';
import { KernelMessage } from '@jupyterlab/services';

export interface IInput {
  repo: string;
  type: string;
  commit: string;
}

export interface IPublished {
  repo: string;
  commit: string;
  created: boolean;
}

const MARK = '__WORKBENCH_JSON__';

/** Python for a string literal (JSON strings are valid Python string literals). */
export function py(value: string): string {
  return JSON.stringify(value);
}

export function inputsCode(): string {
  return [
    'import json as _wb_json, workbench as _wb',
    `print(${py(MARK)} + _wb_json.dumps([{"repo": r.repo, "type": r.type, "commit": r.commit} for r in _wb.inputs()]))`
  ].join('\n');
}

export function publishCode(path: string, repo: string, message: string): string {
  return [
    'import json as _wb_json, workbench as _wb',
    `_wb_c = _wb.publish_notebook(${py(path)}, ${py(repo)}, message=${py(message)} or None)`,
    `print(${py(MARK)} + _wb_json.dumps({"repo": _wb_c.repo_id, "commit": _wb_c.oid, "created": _wb_c.created}))`
  ].join('\n');
}

/** Run code silently in the notebook's kernel and return the JSON it printed after MARK. */
export async function runInKernel<T>(panel: NotebookPanel, code: string): Promise<T> {
  await panel.sessionContext.ready;
  const kernel = panel.sessionContext.session?.kernel;
  if (!kernel) {
    throw new Error('This notebook has no running kernel: start one (Kernel menu) and try again.');
  }
  let text = '';
  let error = '';
  const future = kernel.requestExecute({ code, silent: false, store_history: false });
  future.onIOPub = msg => {
    if (KernelMessage.isStreamMsg(msg)) {
      text += msg.content.text;
    } else if (KernelMessage.isErrorMsg(msg)) {
      error = `${msg.content.ename}: ${msg.content.evalue}`;
    }
  };
  await future.done;
  if (error) {
    throw new Error(error);
  }
  const line = text.split('\n').find(l => l.startsWith(MARK));
  if (!line) {
    throw new Error(`The kernel did not answer as expected: ${text.slice(-500)}`);
  }
  return JSON.parse(line.slice(MARK.length)) as T;
}
