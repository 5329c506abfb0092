import { inputsCode, publishCode, py } from '../publish';

describe('publish code', () => {
  it('quotes user text as Python string literals', () => {
    expect(py('a"b\\c\n')).toBe('"a\\"b\\\\c\\n"');
    const code = publishCode('my "nb".ipynb', 'me/x', 'msg"); import os; os.system("boom');
    expect(code).toContain(
      '_wb.publish_notebook("my \\"nb\\".ipynb", "me/x", message="msg\\"); import os; os.system(\\"boom" or None)'
    );
    // The whole message stays one literal: the only statements are ours.
    expect(code.split('\n')).toHaveLength(3);
  });

  it('asks the kernel for its inputs as JSON', () => {
    expect(inputsCode()).toContain('_wb.inputs()');
  });
});
