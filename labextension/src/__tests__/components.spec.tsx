import { Widget } from '@lumino/widgets';

import { WorkbenchApi } from '../api';
import { SearchSidebar } from '../components/SearchPanel';
import { StatusItem } from '../components/StatusItem';
import { SearchModel } from '../model';
import { IHubStatus, ISearchPage } from '../tokens';

const PAGE: ISearchPage = {
  results: [
    {
      id: 'acme/<b>bold</b>',
      type: 'dataset',
      private: true,
      title: null,
      summary: '<img src=x onerror="window.__xss=1">',
      tags: [],
      task: 'text-classification',
      library: null,
      license: null,
      downloads: 12345,
      likes: 7,
      lastModified: new Date().toISOString(),
      createdAt: null
    }
  ],
  total: 1,
  query: ''
};

describe('SearchSidebar', () => {
  it('renders results as text, with likes, downloads and last update', async () => {
    const model = new SearchModel(() => Promise.resolve(PAGE));
    const opened: string[] = [];
    const sidebar = new SearchSidebar(model, r => opened.push(r.id));
    Widget.attach(sidebar, document.body);
    await model.refresh();
    await new Promise(resolve => setTimeout(resolve, 50));
    const item = sidebar.node.querySelector('[data-testid=wb-result]')!;
    expect(item.getAttribute('data-repo-id')).toBe('acme/<b>bold</b>');
    expect(item.querySelector('img')).toBeNull();
    expect(item.querySelector('b')).toBeNull();
    expect(item.querySelector('[data-testid=wb-downloads]')!.textContent).toContain('12k');
    expect(item.querySelector('[data-testid=wb-likes]')!.textContent).toContain('7');
    expect(item.querySelector('[data-testid=wb-updated]')!.textContent).toContain('just now');
    (item.querySelector('.wb-Result-open') as HTMLButtonElement).click();
    expect(opened).toEqual(['acme/<b>bold</b>']);
    sidebar.dispose();
  });

  it('counts the results, and says when the hub counted only the first of them', async () => {
    const pages: ISearchPage[] = [
      { ...PAGE, total: 1 },
      { ...PAGE, total: 1234, totalExact: true },
      { ...PAGE, total: 1000, totalExact: false }
    ];
    let next = 0;
    const model = new SearchModel(() => Promise.resolve(pages[next++]));
    const sidebar = new SearchSidebar(model, () => undefined);
    Widget.attach(sidebar, document.body);
    const shown: string[] = [];
    for (let i = 0; i < pages.length; i++) {
      await model.refresh();
      await new Promise(resolve => setTimeout(resolve, 50));
      shown.push(sidebar.node.querySelector('[data-testid=wb-count]')!.textContent!);
    }
    expect(shown).toEqual(['1 result', '1,234 results', '1,000+ results']);
    expect(model.totalExact).toBe(false);
    sidebar.dispose();
  });

  it('shows a down hub in words instead of a blank panel', async () => {
    const model = new SearchModel(() =>
      Promise.reject(
        Object.assign(new Error('Connection refused.'), { status: 502, unavailable: true })
      )
    );
    const sidebar = new SearchSidebar(model, () => undefined);
    Widget.attach(sidebar, document.body);
    await model.refresh();
    await new Promise(resolve => setTimeout(resolve, 50));
    const error = sidebar.node.querySelector('[data-testid=wb-error]')!;
    expect(error.textContent).toContain('The Workbench hub is not answering');
    expect(error.getAttribute('data-hub-down')).toBe('true');
    sidebar.dispose();
  });
});

describe('StatusItem', () => {
  it('shows the answer of its latest check, even when an older one comes back last', async () => {
    const pending: ((s: IHubStatus) => void)[] = [];
    const api = {
      status: () => new Promise<IHubStatus>(resolve => pending.push(resolve))
    } as unknown as WorkbenchApi;
    const item = new StatusItem(api, 60_000); // its first check is pending[0]
    Widget.attach(item, document.body);
    const second = item.check(); // e.g. after the Hub URL setting moved the server elsewhere
    const answer = (hubUrl: string, reachable: boolean): IHubStatus => ({
      hubUrl,
      embedded: false,
      reachable,
      authenticated: false
    });
    pending[1](answer('http://127.0.0.1:9', false));
    await second;
    pending[0](answer('http://old-hub', true));
    await new Promise(resolve => setTimeout(resolve, 50));
    const node = item.node.querySelector('[data-testid=wb-status]')!;
    expect(node.getAttribute('data-hub-url')).toBe('http://127.0.0.1:9');
    expect(node.getAttribute('data-reachable')).toBe('false');
    expect(node.textContent).toContain('not answering');
    item.dispose();
  });
});
