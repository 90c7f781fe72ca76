import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  createReadStream,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { parseDataset } from '../../../../services/data-intake/parse/index.js';
import {
  chunks,
  collect,
  jpeg,
  makeTar,
  makeZip,
  png,
  rejectsWith,
  type Entries,
} from './helpers.js';

describe('image archives', () => {
  let entries: Entries;
  const tmp = mkdtempSync(join(tmpdir(), 'intake-img-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  before(async () => {
    entries = [
      ['./', null],
      ['./zebra/', null],
      ['./zebra/1.png', await png(4, 5, 3, 200)],
      ['./ant/1.png', await png(4, 5, 3, 10)],
      ['./zebra/2.jpg', await jpeg(4, 5, 100)],
      ['./.DS_Store', Buffer.from('junk')],
      ['./ant/notes.txt', Buffer.from('not an image')],
    ];
  });

  test('a tar of class folders: classes are sorted folder names, pixels are HWC bytes', async () => {
    const p = await parseDataset(chunks(await makeTar(entries), 512), { tmpDir: tmp });
    assert.equal(p.info.format, 'images');
    assert.deepEqual(p.info.labelNames, ['ant', 'zebra']);
    assert.deepEqual(p.info.imageShape, { height: 4, width: 5, channels: 3 });
    assert.equal(p.info.features, 60);
    const got = await collect(p);
    assert.deepEqual(got.labels, [1, 0, 1]);
    const b = got.batches[0]!;
    assert.ok(b.kind === 'image');
    assert.deepEqual(Array.from(b.pixels.subarray(0, 3)), [200, 200, 200]);
    assert.deepEqual(Array.from(b.pixels.subarray(60, 63)), [10, 10, 10]);
    assert.ok(Math.abs(b.pixels[120]! - 100) <= 2, 'JPEG decodes near its value');
    assert.deepEqual(readdirSync(tmp), [], 'temp files are gone after reading');
  });

  test('a zip and a tar.gz give the same rows as the tar', async () => {
    const fromTar = await collect(await parseDataset(chunks(await makeTar(entries), 512)));
    const fromZip = await collect(
      await parseDataset(chunks(makeZip(entries.filter(([, d]) => d)), 512)),
    );
    const fromTgz = await collect(
      await parseDataset(chunks(gzipSync(await makeTar(entries)), 512)),
    );
    for (const other of [fromZip, fromTgz]) {
      assert.deepEqual(other.labels, fromTar.labels);
      assert.deepEqual(
        other.batches.map((b) => b.kind === 'image' && Array.from(b.pixels)),
        fromTar.batches.map((b) => b.kind === 'image' && Array.from(b.pixels)),
      );
    }
  });

  test('a deflated zip made by the zip tool', async (t) => {
    if (spawnSync('zip', ['-v']).status !== 0) return t.skip('the zip command is not installed');
    const dir = mkdtempSync(join(tmp, 'zipsrc-'));
    for (const [name, data] of entries) {
      if (data && !name.includes('.DS_Store')) {
        mkdirSync(join(dir, dirname(name)), { recursive: true });
        writeFileSync(join(dir, name), data);
      }
    }
    assert.equal(spawnSync('zip', ['-qr', '../set.zip', '.'], { cwd: dir }).status, 0);
    const p = await parseDataset(createReadStream(join(tmp, 'set.zip')), { tmpDir: dir });
    assert.equal(p.info.count, 3);
    assert.deepEqual(p.info.labelNames, ['ant', 'zebra']);
    await p.close();
    rmSync(dir, { recursive: true });
    rmSync(join(tmp, 'set.zip'));
  });

  test('resize and channels make mixed images one shape', async () => {
    const mixed: Entries = [
      ['a/1.png', await png(4, 5, 3, 50)],
      ['b/1.png', await png(8, 2, 1, 90)],
      ['b/2.png', await png(3, 3, 4, 90)],
    ];
    // Without `channels`, later images take the first image's channel count.
    const p = await parseDataset(chunks(await makeTar(mixed)), { resize: { height: 6, width: 6 } });
    assert.deepEqual(p.info.imageShape, { height: 6, width: 6, channels: 3 });
    const got = await collect(p);
    assert.equal(got.rows, 3);
    assert.ok(got.batches.every((b) => b.kind === 'image' && b.pixels.length === b.rows * 108));
    const grey = await parseDataset(chunks(await makeTar(mixed)), {
      channels: 1,
      resize: { height: 2, width: 2 },
    });
    assert.equal(grey.info.imageShape?.channels, 1);
    await grey.close();
  });

  test('bad input: inconsistent shapes without resize', async () => {
    const mixed: Entries = [
      ['a/1.png', await png(4, 5, 3, 50)],
      ['a/2.png', await png(5, 4, 3, 50)],
    ];
    await rejectsWith(
      parseDataset(chunks(await makeTar(mixed)), { tmpDir: tmp }),
      'BAD_INPUT',
      { entry: 'a/2.png' },
      /inconsistent image shape 5x4x3, expected 4x5x3/,
    );
    assert.deepEqual(readdirSync(tmp), [], 'a failed parse removes its temp files');
  });

  test('bad input: a corrupt PNG inside an archive names the entry', async () => {
    const good = await png(4, 4, 3, 1);
    const corrupt = Buffer.concat([good.subarray(0, 40), Buffer.alloc(20, 0xee)]);
    const tarball = await makeTar([
      ['c/ok.png', good],
      ['c/bad.png', corrupt],
    ]);
    const err = await rejectsWith(parseDataset(chunks(tarball)), 'BAD_INPUT', {
      entry: 'c/bad.png',
    });
    assert.match(err.message, /^corrupt image/);
    await rejectsWith(parseDataset(chunks(makeZip([['c/bad.png', corrupt]]))), 'BAD_INPUT', {
      entry: 'c/bad.png',
    });
  });

  test('bad input: path traversal in tar and zip entry names', async () => {
    const img = await png(2, 2, 1, 0);
    const reason = 'path traversal in archive entry';
    await rejectsWith(
      parseDataset(chunks(await makeTar([['x/../../etc/a.png', img]]))),
      'BAD_INPUT',
      { entry: 'x/../../etc/a.png', reason },
    );
    await rejectsWith(
      parseDataset(
        chunks(
          makeZip([
            ['ok/1.png', img],
            ['../evil/1.png', img],
          ]),
        ),
      ),
      'BAD_INPUT',
      { entry: '../evil/1.png', reason },
    );
    await rejectsWith(parseDataset(chunks(makeZip([['/abs/1.png', img]]))), 'BAD_INPUT', {
      reason,
    });
  });

  test('bad input: an image outside a class folder, an archive without images', async () => {
    const img = await png(2, 2, 1, 0);
    await rejectsWith(parseDataset(chunks(await makeTar([['top.png', img]]))), 'BAD_INPUT', {
      entry: 'top.png',
    });
    await rejectsWith(
      parseDataset(chunks(await makeTar([['a/readme.txt', Buffer.from('x')]]))),
      'BAD_INPUT',
      { reason: 'empty' },
    );
  });
});
