import { WorkbenchApi } from '../api';
import { describeNotification, InboxModel } from '../inbox';
import { runProgress } from '../components/EvalTab';
import { deepLinkUrl, parseDeepLink } from '../model';
import { INotification } from '../tokens';

function note(id: number, kind: string, read = false): INotification {
  return {
    id,
    kind,
    repo: { name: 'acme/llm', type: 'model' },
    discussion: 3,
    title: 'Fix the tokenizer',
    event: null,
    actor: 'bob',
    createdAt: new Date().toISOString(),
    read,
    detail: kind === 'access-rejected' ? 'Use a work e-mail.' : null
  };
}

describe('deep links', () => {
  it('reads repo pages and pull requests, and nothing else', () => {
    expect(parseDeepLink('model/acme/llm')).toEqual({ type: 'model', id: 'acme/llm' });
    expect(parseDeepLink('datasets/acme/iris-mini/')).toEqual({
      type: 'dataset',
      id: 'acme/iris-mini'
    });
    expect(parseDeepLink('model/acme/llm/pr/3')).toEqual({
      type: 'model',
      id: 'acme/llm',
      discussion: 3
    });
    expect(parseDeepLink('model/acme/llm/discussions/12')?.discussion).toBe(12);
    for (const bad of [
      '',
      'model/acme',
      'kernel/acme/llm',
      'model/../etc',
      'model/acme/llm/pr/x',
      'model/a/b/c'
    ]) {
      expect(parseDeepLink(bad)).toBeNull();
    }
  });

  it('builds the link that parses back', () => {
    const url = deepLinkUrl('http://lab.example/user/ada/', {
      type: 'model',
      id: 'acme/llm',
      discussion: 3
    });
    expect(url).toBe('http://lab.example/user/ada/lab/workbench/model/acme/llm/pr/3');
    expect(parseDeepLink(url.split('/lab/workbench/')[1])).toEqual({
      type: 'model',
      id: 'acme/llm',
      discussion: 3
    });
  });
});

describe('InboxModel', () => {
  it('counts unread notifications and marks them read', async () => {
    let notifications = [note(2, 'mention'), note(1, 'comment', true)];
    const marked: unknown[] = [];
    const api = {
      notifications: () =>
        Promise.resolve({ notifications, unread: notifications.filter(n => !n.read).length }),
      markRead: (ids: number[] | 'all') => {
        marked.push(ids);
        notifications = notifications.map(n => ({ ...n, read: true }));
        return Promise.resolve({});
      }
    } as unknown as WorkbenchApi;
    const model = new InboxModel(api, 60_000);
    await model.refresh();
    expect(model.unread).toBe(1);
    await model.markRead('all');
    expect(marked).toEqual(['all']);
    expect(model.unread).toBe(0);
    model.dispose();
  });

  it('describes each kind in words', () => {
    expect(describeNotification(note(1, 'mention'))).toBe(
      'bob mentioned you in acme/llm #3 Fix the tokenizer'
    );
    expect(describeNotification(note(1, 'access-rejected'))).toContain(': Use a work e-mail.');
    expect(describeNotification(note(1, 'access-request'))).toBe('bob asks for access to acme/llm');
  });
});

describe('runProgress', () => {
  it('names the running cell and counts finished ones', () => {
    const events = [
      { event: 'resolve' },
      { event: 'cell_start', index: 0, total: 4, name: 'parameters' },
      { event: 'cell_complete', index: 0, total: 4 },
      { event: 'cell_start', index: 2, total: 4, name: 'net = wb.load_model(model)' }
    ];
    expect(runProgress(events.slice(0, 1))).toEqual({
      fraction: 0,
      label: 'Resolving the model and dataset to commits…'
    });
    expect(runProgress(events)).toEqual({
      fraction: 0.5,
      label: 'Cell 3 of 4: net = wb.load_model(model)'
    });
    expect(runProgress([...events, { event: 'done', status: 'failed', error: 'boom' }])).toEqual({
      fraction: 1,
      label: 'Failed: boom'
    });
  });
});
