import { BadInput } from '../../../shared/index.js';
import { createLineSplitter, type LineHandler } from './lines.js';
import type { LabelCollector } from './labels.js';
import type { BlockSpill } from './spill.js';
import { emitDenseBatches, rowsPerBatch, type TabularRowWriter } from './tabular-spill.js';
import type { DatasetFormat, ParseContext, ParsedDataset } from './types.js';

/** First pass over a text upload: every line to `onLine`, spilling between chunks. */
export async function spillLines(
  source: AsyncIterable<Buffer>,
  onLine: LineHandler,
  spill: BlockSpill,
): Promise<void> {
  const splitter = createLineSplitter(onLine);
  for await (const chunk of source) {
    splitter.push(chunk);
    await spill.flush();
  }
  splitter.end();
}

export interface TabularParts {
  ctx: ParseContext;
  format: DatasetFormat;
  spill: BlockSpill;
  writer: TabularRowWriter;
  labels: LabelCollector;
  dim: number;
  indexBase?: 0 | 1;
  featureNames?: string[];
}

/** Turns a finished first pass into a `ParsedDataset` whose batches come from the spill. */
export function tabularResult(p: TabularParts): ParsedDataset {
  p.writer.finish();
  const count = p.writer.rows;
  if (count === 0) throw new BadInput('empty file: no data rows', { reason: 'empty' });
  if (p.dim === 0)
    throw new BadInput('no features: every row has only a label', { reason: 'empty' });
  const mapping = p.labels.resolve();
  const rows = rowsPerBatch(p.dim * 4, p.ctx.batchRows, p.ctx.batchBytes);
  const spill = p.spill;
  let started = false;
  return {
    info: {
      format: p.format,
      kind: 'tabular',
      features: p.dim,
      ...(p.featureNames ? { featureNames: p.featureNames } : {}),
      labelKind: mapping.kind,
      ...(mapping.names ? { labelNames: mapping.names } : {}),
      count,
      gzip: p.ctx.gzip,
      ...(p.indexBase === undefined ? {} : { indexBase: p.indexBase }),
    },
    async *batches() {
      if (started) throw new Error('batches() can be iterated once');
      started = true;
      try {
        yield* emitDenseBatches(spill, {
          dim: p.dim,
          indexBase: p.indexBase ?? 0,
          rowsPerBatch: rows,
          mapLabel: mapping.map,
        });
      } finally {
        await spill.close();
      }
    },
    close: () => spill.close(),
  };
}
