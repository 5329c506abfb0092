import { WorkbenchApi } from '../api';
import { CollectionsModel } from '../collections';
import { ICollection } from '../tokens';

function collection(slug: string, items: string[]): ICollection {
  return {
    slug,
    title: slug.split('/')[1],
    owner: { name: slug.split('/')[0] },
    private: false,
    numberItems: items.length,
    items: items.map((id, position) => ({ _id: `${position}`, type: 'model', id, position }))
  };
}

describe('CollectionsModel', () => {
  it("lists the user's and their organizations' collections, and loads all items on expand", async () => {
    const asked: string[][] = [];
    const api = {
      whoami: () => Promise.resolve({ name: 'ada', orgs: [{ name: 'acme' }] }),
      collections: (owners: string[]) => {
        asked.push(owners);
        return Promise.resolve([
          collection('ada/a-1', ['x/1']),
          collection('acme/b-2', ['x/1', 'x/2', 'x/3', 'x/4'])
        ]);
      },
      collection: (slug: string) =>
        Promise.resolve(collection(slug, ['x/1', 'x/2', 'x/3', 'x/4', 'x/5']))
    } as unknown as WorkbenchApi;
    const model = new CollectionsModel(api);
    await model.refresh();
    expect(asked).toEqual([['ada', 'acme']]);
    expect(model.owners).toEqual(['ada', 'acme']);
    expect(model.collections.map(c => c.slug)).toEqual(['ada/a-1', 'acme/b-2']);
    expect(model.details('acme/b-2')?.items).toHaveLength(4);

    await model.toggle('acme/b-2');
    expect(model.isExpanded('acme/b-2')).toBe(true);
    expect(model.details('acme/b-2')?.items).toHaveLength(5);
    await model.toggle('acme/b-2');
    expect(model.isExpanded('acme/b-2')).toBe(false);
  });

  it('reports a failed request instead of throwing', async () => {
    const api = {
      whoami: () => Promise.reject(new Error('boom'))
    } as unknown as WorkbenchApi;
    const model = new CollectionsModel(api);
    await model.refresh();
    expect(model.error?.message).toContain('boom');
    expect(model.loading).toBe(false);
  });
});
