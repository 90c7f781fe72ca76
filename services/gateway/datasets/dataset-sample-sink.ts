import type { SampleAppender } from '../../../shared/index.js';
import type { SampleRow, SampleSink } from '../sources/sample-sink.js';

/** The live sources' sink backed by the dataset store: each append is a new version. */
export function datasetSampleSink(appendSamples: SampleAppender): SampleSink {
  return {
    async append(dataset: string, rows: SampleRow[]) {
      const meta = await appendSamples(dataset, rows);
      return { version: meta.version, total: meta.count };
    },
  };
}
