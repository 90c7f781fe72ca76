import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createLogger, DatasetStore, EventLog, Keys } from '../../../../shared/index.js';
import { ingestUpload } from '../../../../services/data-intake/ingest-upload.js';
import { uploadOptions } from '../../../../services/data-intake/upload-options.js';
import { startTestRedis, type TestRedis } from '../../../helpers/redis.js';
import { chunks } from './helpers.js';

let r: TestRedis;
const dir = mkdtempSync(join(tmpdir(), 'intake-ingest-'));
before(async () => {
  r = await startTestRedis();
});
after(async () => {
  await r.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('a body declared larger than the memory allowance spills from the start, same version', async () => {
  const redis = r.client();
  const keys = new Keys(r.prefix());
  const deps = {
    datasets: new DatasetStore(redis, keys),
    events: new EventLog(redis, keys),
    log: createLogger('data-intake', 'silent'),
  };
  const rows = Array.from(
    { length: 20_000 },
    (_, i) =>
      `${i % 4} ` +
      Array.from(
        { length: 12 },
        (_, k) => `${k + 1 + (i % 3)}:${(((i * 7 + k) % 23) / 7).toFixed(9)}`,
      ).join(' '),
  );
  const text = rows.join('\n'); // ~3.4 MB of text, ~1.4 MB parsed
  const opts = uploadOptions(new URLSearchParams('format=libsvm'), undefined);
  const limits = { tmpDir: dir, memoryLimitBytes: 2 * 1024 * 1024, shardBytes: 64 * 1024 };
  /** The body, noting whether a spill file exists once all of it has been parsed. */
  const seen = { spillFile: false };
  async function* body(): AsyncGenerator<Buffer> {
    yield* chunks(text, 65_536);
    seen.spillFile = readdirSync(dir).length > 0;
  }

  const { meta: held } = await ingestUpload(deps, 'held', body(), opts, limits);
  assert.equal(seen.spillFile, false, 'parsed rows within the allowance stay in memory');
  const { meta: spilled } = await ingestUpload(deps, 'spilled', body(), opts, {
    ...limits,
    declaredBytes: Buffer.byteLength(text),
  });
  assert.equal(seen.spillFile, true, 'a body as large as the allowance goes to disk');
  assert.equal(spilled.count, 20_000);
  assert.equal(spilled.sha256, held.sha256, 'the same shards');
  assert.deepEqual(spilled.stats, held.stats);
  assert.deepEqual(readdirSync(dir), [], 'no spill file is left');
});
