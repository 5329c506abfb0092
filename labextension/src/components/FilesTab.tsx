import React from 'react';

import { formatSize } from '../model';
import { ITreeEntry } from '../tokens';

/** The repo's files at the shown commit, with sizes (LFS files marked). */
export function FilesTab(props: { entries: ITreeEntry[] }): JSX.Element {
  const files = props.entries.filter(e => e.type === 'file');
  if (files.length === 0) {
    return <p className="wb-Empty">This commit has no files.</p>;
  }
  return (
    <table className="wb-Table" data-testid="wb-files">
      <thead>
        <tr>
          <th>File</th>
          <th>Size</th>
        </tr>
      </thead>
      <tbody>
        {files.map(f => (
          <tr key={f.path} data-path={f.path}>
            <td>
              {f.path}
              {f.lfs ? <span className="wb-Badge">LFS</span> : null}
            </td>
            <td className="wb-Num">{formatSize(f.lfs?.size ?? f.size)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
