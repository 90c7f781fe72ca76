/**
 * Uploads a probe sent: a 163 KB gzip that decompressed to 67 MB (412:1) was taken in whole,
 * and labels `\xff` and `\xfe` (not UTF-8) became one class "�". A gzip is now held to 100:1
 * (past its first MB) and to the upload limit once decompressed, a 413; a text upload that is
 * not UTF-8 is a 400 naming the line. Nothing is stored from either.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { allKeys, call, startIntakeHarness, upload, type IntakeHarness } from './harness.js';

const MB = 1024 * 1024;
/** The intake's upload limit here; the gateway's is left at its (larger) default. */
const LIMIT = 8 * MB;

let r: TestRedis;
let h: IntakeHarness;
before(async () => {
  r = await startTestRedis();
  h = await startIntakeHarness(r, { intakeEnv: { UPLOAD_LIMIT_BYTES: String(LIMIT) } });
});
after(async () => {
  await h?.close();
  await r?.stop();
});

async function storedKeys(): Promise<string[]> {
  return (await allKeys(r, h.prefix)).filter((k) => !k.endsWith(':tokens'));
}

/** CSV rows of random numbers: compresses about 2:1, as real data does. */
function randomCsv(bytes: number): string {
  const rows = ['a,b,c,label'];
  let size = rows[0]!.length;
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31).toFixed(6);
  while (size < bytes) {
    const row = `${rnd()},${rnd()},${rnd()},${size % 3}`;
    rows.push(row);
    size += row.length + 1;
  }
  return rows.join('\n');
}

test('a gzip bomb (67 MB of one repeated row in 163 KB) is a 413 JSON error; nothing stored', async () => {
  const before = await storedKeys();
  const bomb = gzipSync(Buffer.from('0,0,0,0\n'.repeat((67 * MB) / 8)), { level: 9 });
  assert.ok(bomb.length < LIMIT / 10, `the compressed bomb is small: ${bomb.length} bytes`);
  const res = await upload(h, 'bomb', bomb, '?format=csv');
  assert.equal(res.status, 413, JSON.stringify(res.body));
  assert.equal(res.body.error, 'PAYLOAD_TOO_LARGE');
  assert.match(res.body.message, /expands more than 100:1/);
  assert.equal(res.body.details.reason, 'compression ratio');
  assert.deepEqual(await storedKeys(), before);
  assert.equal((await call(h, 'GET', '/api/v1/datasets/bomb')).status, 404);
});

test('a gzip within the ratio that decompresses past the upload limit is a 413 too', async () => {
  const text = randomCsv(LIMIT + MB);
  const gz = gzipSync(Buffer.from(text));
  assert.ok(gz.length < LIMIT && text.length / gz.length < 100, 'small, and an honest ratio');
  const res = await upload(h, 'big', gz, '?format=csv');
  assert.equal(res.status, 413, JSON.stringify(res.body));
  assert.match(res.body.message, new RegExp(`decompresses to more than the limit of ${LIMIT}`));
  assert.equal((await call(h, 'GET', '/api/v1/datasets/big')).status, 404);
});

test('an honest gzip under both limits is stored as before', async () => {
  const text = randomCsv(2 * MB);
  const res = await upload(h, 'honest', gzipSync(Buffer.from(text)), '?format=csv');
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.equal(res.body.count, text.split('\n').length - 1);
  // and a small, very compressible one: the first MB may expand as it likes
  const zeros = gzipSync(Buffer.from('a,b,label\n' + '0,0,1\n0,0,2\n'.repeat(20_000)));
  assert.equal((await upload(h, 'zeros', zeros, '?format=csv')).status, 201);
});

test('labels that are not UTF-8 are a 400 naming the line, in every text format', async () => {
  const before = await storedKeys();
  const latin1 = (s: string) => Buffer.from(s, 'latin1');
  const cases: [string, Buffer, string, number, number][] = [
    // name, body, query, bad line, column of the bad byte
    ['csv', latin1('x,label\n1,a\n2,\xff\n3,\xfe\n'), '?format=csv', 3, 3],
    ['libsvm', latin1('1 1:1\n\xff 1:2\n\xfe 1:3\n'), '?format=libsvm', 2, 1],
    [
      'jsonl',
      latin1('{"x":1,"label":"a"}\n{"x":2,"label":"b"}\n{"x":3,"label":"\xff"}\n'),
      '?format=jsonl&labelColumn=label',
      3,
      17,
    ],
    [
      'arff',
      latin1(
        '@relation r\n@attribute x numeric\n@attribute class {a,\xff,\xfe}\n@data\n1,a\n2,\xff\n',
      ),
      '?format=arff',
      3,
      21,
    ],
  ];
  for (const [name, body, query, line, col] of cases) {
    const res = await upload(h, `utf8-${name}`, body, query);
    assert.equal(res.status, 400, `${name}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.error, 'BAD_INPUT', name);
    assert.match(res.body.message, /invalid UTF-8 \(byte 0xff\)/, name);
    assert.deepEqual([res.body.details.line, res.body.details.col], [line, col], name);
  }
  // A multi-byte character split across the chunks of a long upload is not an error.
  const long = Buffer.from(`x,label\n${'1,é\n2,ü\n3,日本\n'.repeat(60_000)}`);
  const ok = await upload(h, 'utf8-ok', long, '?format=csv');
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
  assert.deepEqual([...ok.body.labelNames].sort(), ['é', 'ü', '日本'].sort());
  const stored = (await storedKeys()).filter((k) => !before.includes(k));
  assert.ok(
    stored.every((k) => k.includes('utf8-ok')),
    `only the valid upload stored: ${stored.join(', ')}`,
  );
});
