import React from 'react';

import { IColumnStatistics } from '../tokens';

const W = 120;

function edge(value: number | undefined): string {
  return value === undefined ? '' : String(Number(value.toPrecision(4)));
}

const H = 36;

/** A column's distribution as small SVG bars: histogram bins or label frequencies. */
export function Histogram(props: { stats: IColumnStatistics }): JSX.Element | null {
  const s = props.stats.column_statistics;
  let counts: number[] = [];
  let labels: string[] = [];
  if (s.histogram && s.histogram.hist.length) {
    counts = s.histogram.hist;
    labels = counts.map(
      (_, i) => `${edge(s.histogram!.bin_edges[i])} – ${edge(s.histogram!.bin_edges[i + 1])}`
    );
  } else if (s.frequencies) {
    labels = Object.keys(s.frequencies);
    counts = labels.map(k => s.frequencies![k]);
  }
  if (!counts.length) {
    return null;
  }
  const max = Math.max(...counts, 1);
  const bar = W / counts.length;
  return (
    <svg
      className="wb-Histogram"
      width={W}
      height={H}
      data-testid="wb-histogram"
      data-column={props.stats.column_name}
    >
      {counts.map((c, i) => (
        <rect
          key={i}
          x={i * bar + 0.5}
          y={H - (c / max) * H}
          width={Math.max(bar - 1, 1)}
          height={(c / max) * H}
        >
          <title>{`${labels[i]}: ${c}`}</title>
        </rect>
      ))}
    </svg>
  );
}
