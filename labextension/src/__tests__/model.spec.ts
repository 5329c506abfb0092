import {
  DEFAULT_QUERY,
  binderUrl,
  SearchModel,
  apiPath,
  describeError,
  diffLines,
  formatAgo,
  formatCount,
  formatSize,
  jsonText,
  loadCode,
  searchParams,
  splitFrontMatter,
  webPath
} from '../model';
import { ISearchPage, ISearchQuery } from '../tokens';

describe('paths', () => {
  it('builds API and web paths per repo type', () => {
    expect(apiPath('dataset', 'a/b', 'tree', 'main')).toBe('api/datasets/a/b/tree/main');
    expect(webPath('model', 'a/b', 'resolve', 'main', 'x.json')).toBe('a/b/resolve/main/x.json');
    expect(webPath('paper', 'a/b', 'resolve', 'main')).toBe('papers/a/b/resolve/main');
  });

  it('sends only the filters that are set', () => {
    const q: ISearchQuery = {
      ...DEFAULT_QUERY,
      q: ' iris ',
      type: 'dataset',
      license: 'mit',
      sort: 'likes'
    };
    const params = new URLSearchParams(searchParams(q));
    expect(params.get('q')).toBe('iris');
    expect(params.get('type')).toBe('dataset');
    expect(params.get('license')).toBe('mit');
    expect(params.get('sort')).toBe('likes');
    expect(params.has('author')).toBe(false);
    expect(new URLSearchParams(searchParams(DEFAULT_QUERY)).has('type')).toBe(false);
  });
});

describe('formatting', () => {
  it('shows JSON values as text, strings without quotes', () => {
    expect(jsonText('train')).toBe('train');
    expect(jsonText(3)).toBe('3');
    expect(jsonText(true)).toBe('true');
    expect(jsonText(null)).toBe('null');
    expect(jsonText({ a: [1, 2] })).toBe('{"a":[1,2]}');
  });

  it('abbreviates counts', () => {
    expect(formatCount(999)).toBe('999');
    expect(formatCount(1234)).toBe('1.2k');
    expect(formatCount(45_000)).toBe('45k');
    expect(formatCount(2_500_000)).toBe('2.5M');
  });

  it('formats sizes', () => {
    expect(formatSize(512)).toBe('512 B');
    expect(formatSize(1536)).toBe('1.5 KB');
    expect(formatSize(undefined)).toBe('');
  });

  it('says how long ago', () => {
    const now = new Date('2026-01-10T12:00:00Z');
    expect(formatAgo('2026-01-10T11:59:58Z', now)).toBe('just now');
    expect(formatAgo('2026-01-10T11:57:00Z', now)).toBe('3 minutes ago');
    expect(formatAgo('2026-01-09T12:00:00Z', now)).toBe('1 day ago');
    expect(formatAgo('not a date', now)).toBe('');
  });
});

describe('cards and load code', () => {
  it('splits the YAML front matter from the body', () => {
    expect(splitFrontMatter('---\nlicense: mit\n---\n# Title\n')).toEqual({
      meta: 'license: mit',
      body: '# Title\n'
    });
    expect(splitFrontMatter('# No meta')).toEqual({ meta: '', body: '# No meta' });
  });

  it('pins the load code to the commit and quotes safely', () => {
    const code = loadCode('dataset', 'acme/iris', 'a'.repeat(40));
    expect(code).toContain(`ds = wb.load_dataset("acme/iris", revision="${'a'.repeat(40)}")`);
    expect(loadCode('model', 'x/"y', 'c')).toContain('wb.load_model("x/\\"y", revision="c")');
  });
});

describe('diffs', () => {
  it('diffs lines with removals before additions', () => {
    expect(diffLines('a\nb\nc', 'a\nB\nc')).toEqual([' a', '-b', '+B', ' c']);
  });
});

describe('errors', () => {
  it('tells a down hub apart from other errors', () => {
    const down = describeError({ message: 'Connection refused.', status: 502, unavailable: true });
    expect(down.hubDown).toBe(true);
    expect(down.message).toContain('The Workbench hub is not answering');
    const missing = describeError({ message: 'Repository a/b not found.', status: 404 });
    expect(missing).toEqual({ message: 'Repository a/b not found.', hubDown: false });
  });
});

describe('SearchModel', () => {
  const page = (id: string): ISearchPage => ({
    results: [
      {
        id,
        type: 'model',
        private: false,
        title: id,
        summary: null,
        tags: [],
        task: null,
        library: null,
        license: null,
        downloads: 1,
        likes: 2,
        lastModified: null,
        createdAt: null
      }
    ],
    total: 1,
    query: id
  });

  it('drops answers to queries that were superseded', async () => {
    const pending: ((p: ISearchPage) => void)[] = [];
    const model = new SearchModel(() => new Promise(resolve => pending.push(resolve)));
    const first = model.update({ q: 'ti' });
    const second = model.update({ q: 'tiny' });
    pending[1](page('new/tiny'));
    await second;
    pending[0](page('old/ti'));
    await first;
    expect(model.results.map(r => r.id)).toEqual(['new/tiny']);
    expect(model.loading).toBe(false);
    expect(model.query.q).toBe('tiny');
  });

  it('keeps the error until a search succeeds again', async () => {
    let fail = true;
    const model = new SearchModel(() =>
      fail
        ? Promise.reject(
            Object.assign(new Error('The hub at http://x does not answer.'), {
              status: 502,
              unavailable: true
            })
          )
        : Promise.resolve(page('a/b'))
    );
    let emitted = 0;
    model.changed.connect(() => emitted++);
    await model.refresh();
    expect(model.error?.hubDown).toBe(true);
    fail = false;
    await model.refresh();
    expect(model.error).toBeNull();
    expect(model.results).toHaveLength(1);
    expect(emitted).toBe(4);
  });
});

describe('binderUrl', () => {
  it('builds Binder links like workbench.binder.binder_url', () => {
    expect(
      binderUrl({ repo: 'https://github.com/acme/research', ref: 'main', path: 'nb/train.ipynb' })
    ).toBe('https://mybinder.org/v2/gh/acme/research/main?urlpath=lab/tree/nb/train.ipynb');
    expect(
      binderUrl({ repo: 'https://gitlab.com/team/sub/proj.git', ref: 'v1', path: 'a.ipynb' })
    ).toBe('https://mybinder.org/v2/gl/team%2Fsub%2Fproj/v1?urlpath=lab/tree/a.ipynb');
    expect(binderUrl({ repo: 'https://git.example.org/x/y' })).toBe(
      'https://mybinder.org/v2/git/https%3A%2F%2Fgit.example.org%2Fx%2Fy/main?urlpath=lab'
    );
  });

  it('refuses what is not a repository on a Git host', () => {
    expect(binderUrl(null)).toBeNull();
    expect(binderUrl({ repo: 'javascript:alert(1)' })).toBeNull();
    expect(binderUrl({ repo: '/home/me/repo' })).toBeNull();
    expect(binderUrl({ repo: 'https://github.com/only-owner' })).toBeNull();
    expect(binderUrl({ repo: 'https://github.com/a/b', ref: 'x..y' })).toBeNull();
  });
});
