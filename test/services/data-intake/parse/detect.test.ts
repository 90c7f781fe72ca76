import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { DATASET_FORMATS, parseDataset } from '../../../../services/data-intake/parse/index.js';
import { sniffText } from '../../../../services/data-intake/parse/detect.js';
import { chunks, makeIdx, rejectsWith } from './helpers.js';

describe('format detection', () => {
  test('an unknown format name or unrecognisable bytes list the known formats', async () => {
    const named = await rejectsWith(
      parseDataset(chunks('1,2\n'), { format: 'parquet' }),
      'UNSUPPORTED_FORMAT',
      {
        known: [...DATASET_FORMATS],
      },
    );
    assert.match(named.message, /libsvm, csv, jsonl, arff, idx, images/);
    await rejectsWith(parseDataset(chunks('just some words\n')), 'UNSUPPORTED_FORMAT');
    await rejectsWith(
      parseDataset(chunks(Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]))),
      'UNSUPPORTED_FORMAT',
    );
  });

  test('content type and file extension pick the parser before sniffing', async () => {
    // `1 2:3` would sniff as libsvm; the content type says CSV with a space delimiter.
    const byType = await parseDataset(chunks('1 2\n3 4\n'), {
      contentType: 'text/csv; charset=utf-8',
      delimiter: ' ',
    });
    assert.equal(byType.info.format, 'csv');
    const byExt = await parseDataset(chunks('1,0\n2,1\n'), { filename: 'data.csv.gz' });
    assert.equal(byExt.info.format, 'csv');
    const gz = await parseDataset(chunks(gzipSync('1 1:2\n')), { contentType: 'application/gzip' });
    assert.equal(gz.info.format, 'libsvm');
  });

  test('sniffs libsvm, csv and json lines from the first data line', () => {
    assert.equal(sniffText(Buffer.from('# c\n+1 1:0.5 3:1 \n')), 'libsvm');
    assert.equal(sniffText(Buffer.from('-1 qid:2 1:1e-3\n')), 'libsvm');
    assert.equal(sniffText(Buffer.from('a,b\n')), 'csv');
    assert.equal(sniffText(Buffer.from('{"a":1}\n')), 'jsonl');
    assert.equal(sniffText(Buffer.from('hello\n')), null);
  });

  test('an IDX file alone is refused: it needs its labels', async () => {
    const { images } = makeIdx([new Uint8Array(4)], [0], 2, 2);
    await rejectsWith(parseDataset(chunks(images)), 'BAD_INPUT', {
      reason: 'idx needs both files',
    });
  });

  test('a parse error stops reading the rest of the upload', async () => {
    let pulled = 0;
    let released = false;
    async function* endless(): AsyncGenerator<Buffer> {
      try {
        yield Buffer.from('1 1:1\n1 1:oops\n');
        for (;;) {
          pulled++;
          yield Buffer.from('1 1:1\n'.repeat(20_000)); // 120 kB: the 64 kB sniffing head takes one
        }
      } finally {
        released = true;
      }
    }
    await rejectsWith(parseDataset(endless()), 'BAD_INPUT', { line: 2 });
    assert.ok(released, 'the source was closed');
    assert.ok(pulled < 2, `read ${pulled} chunks after the error`);
  });

  test('an empty upload and a corrupt gzip are bad input', async () => {
    await rejectsWith(parseDataset(chunks('')), 'BAD_INPUT', { reason: 'empty' });
    const gz = gzipSync('1 1:1\n'.repeat(1000));
    await rejectsWith(parseDataset(chunks(gz.subarray(0, gz.length - 20))), 'BAD_INPUT', {
      reason: 'corrupt gzip',
    });
  });
});
