import { Widget } from '@lumino/widgets';

import { SearchSidebar } from '../components/SearchPanel';
import { SearchModel } from '../model';
import { ISearchPage } from '../tokens';

const PAGE: ISearchPage = {
  results: [
    { id: 'acme/<b>bold</b>', type: 'dataset', private: true, title: null,
      summary: '<img src=x onerror="window.__xss=1">', tags: [], task: 'text-classification', library: null,
      license: null, downloads: 12345, likes: 7, lastModified: new Date().toISOString(), createdAt: null }
  ],
  total: 1,
  query: ''
};

describe('SearchSidebar', () => {
  it('renders results as text, with likes, downloads and last update', async () => {
    const model = new SearchModel(async () => PAGE);
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

  it('shows a down hub in words instead of a blank panel', async () => {
    const model = new SearchModel(async () => {
      throw Object.assign(new Error('Connection refused.'), { status: 502, unavailable: true });
    });
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
