/**
 * Warm spares (swarm mode) away from Docker: which spare a session goes to, which sessions may
 * go to one, the spare's token, and the built-in trainer waiting at the event handler's real
 * server for the session it is handed. The stack test hands a session to a spare on Swarm.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import type http from 'node:http';
import {
  createLogger,
  serviceCommand,
  spareToken,
  verifySpareToken,
  verifyWorkerToken,
  workerToken,
} from '../../../../shared/index.js';
import type { LaunchSpec } from '../../../../services/event-handler/backend.js';
import { SpareDesk } from '../../../../services/event-handler/swarm/spare-desk.js';
import type { NodeFacts } from '../../../../services/event-handler/swarm/swarm-placement.js';
import { chooseSpare, fitsSpare } from '../../../../services/event-handler/swarm/swarm-spares.js';
import { createHandlerServer } from '../../../../services/event-handler/ws-server.js';
import { waitFor } from '../../../helpers/wait.js';

const SECRET = 'internal-token-for-warm-spares-0123456789';
const facts = (labels: Record<string, string>, ready = true): NodeFacts => ({
  hostname: `host-${Object.values(labels).join('-') || 'plain'}`,
  ready,
  labels,
  generic: {},
});

test('a session goes to a spare on a node it may use, off the low-priority node, least recently used first', () => {
  const nodes = new Map([
    ['n1', facts({})],
    ['n2', facts({ gpu: 'true' })],
    ['n3', facts({ priority: 'low' })],
    ['n4', facts({}, false)],
  ]);
  const spare = (nodeId: string) => ({ serviceId: `svc-${nodeId}`, id: `sp-${nodeId}`, nodeId });
  const all = ['n1', 'n2', 'n3', 'n4'].map(spare);
  const free = { constraints: [] };
  assert.equal(chooseSpare(free, all, nodes, new Map())?.nodeId, 'n1');
  assert.equal(chooseSpare(free, all, nodes, new Map([['n1', 5]]))?.nodeId, 'n2');
  // The low-priority node is kept for long sessions while another node has a spare ready.
  assert.equal(
    chooseSpare(
      free,
      all,
      nodes,
      new Map([
        ['n1', 5],
        ['n2', 6],
      ]),
    )?.nodeId,
    'n1',
  );
  assert.equal(chooseSpare(free, [spare('n3')], nodes, new Map())?.nodeId, 'n3');
  const long = { constraints: ['node.labels.priority==low'] };
  assert.equal(chooseSpare(long, all, nodes, new Map())?.nodeId, 'n3');
  assert.equal(chooseSpare(long, [spare('n1'), spare('n2')], nodes, new Map()), undefined);
  // A node that is not ready (down or drained) gets no session, even with a spare listed.
  assert.equal(chooseSpare(free, [spare('n4')], nodes, new Map()), undefined);
  const pooled = { constraints: ['node.labels.pool==train'] };
  assert.equal(chooseSpare(pooled, all, nodes, new Map()), undefined);
});

test('only built-in CPU trainings without limits go to a spare', () => {
  const base: LaunchSpec = {
    sessionId: 's1',
    kind: 'train',
    command: [],
    env: {},
    device: 'cpu',
    limits: {},
  };
  const image = 'reg:5000/swarmml/app:1';
  assert.equal(fitsSpare(base, image), true);
  assert.equal(fitsSpare({ ...base, image }, image), true);
  assert.equal(fitsSpare({ ...base, image: 'reg:5000/other:1' }, image), false);
  assert.equal(fitsSpare({ ...base, device: 'gpu' }, image), false);
  assert.equal(fitsSpare({ ...base, kind: 'batch-infer' }, image), false);
  assert.equal(fitsSpare({ ...base, command: ['python3', 'train.py'] }, image), false);
  assert.equal(fitsSpare({ ...base, limits: { memoryMb: 512 } }, image), false);
});

test("a spare's token is valid for its own id only, and never as a worker token", () => {
  const t = spareToken('abc-1', SECRET);
  assert.equal(verifySpareToken(t, SECRET), 'abc-1');
  assert.equal(verifySpareToken(t, `${SECRET}x`), undefined);
  assert.equal(verifyWorkerToken(t, SECRET), undefined);
  assert.equal(verifyWorkerToken(t.replace(/^sms_/, 'smw_'), SECRET), undefined);
  assert.equal(
    verifySpareToken(workerToken('abc-1', SECRET).replace(/^smw_/, 'sms_'), SECRET),
    undefined,
  );
});

let server: http.Server;
let base = '';
const desk = new SpareDesk(300);
const children: ChildProcess[] = [];

before(async () => {
  // The handler's own server: only the spares route is reached by this file.
  ({ server } = createHandlerServer({
    log: createLogger('test', 'silent'),
    internalToken: SECRET,
    readiness: [],
    spares: desk,
  } as unknown as Parameters<typeof createHandlerServer>[0]));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  desk.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

/** The built-in trainer started as a spare; resolves with its exit code and output. */
function startSpare(id: string, token: string) {
  const { command, args } = serviceCommand('trainer');
  const child = spawn(command, args, {
    env: {
      PATH: process.env.PATH,
      SWARMML_SPARE_URL: `${base}/spares/${id}/session`,
      SWARMML_SPARE_TOKEN: token,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<{ code: number | null; out: string }>((resolve) =>
    child.once('exit', (code) => resolve({ code, out })),
  );
  return { child, exited };
}

test('the trainer as a spare waits at the handler, asks again after each hold, and runs with the environment it is handed', async () => {
  let asked = 0;
  const count = (req: http.IncomingMessage) => {
    if (req.url?.startsWith('/spares/sp-1/')) asked++;
  };
  server.on('request', count);
  const spare = startSpare('sp-1', spareToken('sp-1', SECRET));
  // Held 300 ms at a time: a spare still there after two holds asked again each time.
  await waitFor(() => asked >= 3 && desk.isReady('sp-1'), {
    timeoutMs: 30_000,
    what: 'the spare to wait at the desk through two holds',
  });
  server.off('request', count);
  assert.equal(
    desk.hand('sp-1', { SWARMML_SESSION: 's-handed', SWARMML_TRAINER: 'not-a-trainer' }),
    true,
  );
  // What it was handed is what it runs with: its config names the handed trainer as invalid.
  const { code, out } = await spare.exited;
  assert.notEqual(code, 0);
  assert.match(out, /SWARMML_TRAINER/);
  assert.equal(desk.isReady('sp-1'), false);
  assert.equal(desk.hand('sp-1', {}), false, 'a spare is handed one session only');
});

test("a spare with another spare's token is refused (401) and exits; a spare that went away is not handed a session", async () => {
  const wrong = startSpare('sp-2', spareToken('sp-3', SECRET));
  const { code, out } = await wrong.exited;
  assert.equal(code, 78);
  assert.match(out, /refused by the event handler/);
  assert.equal(desk.isReady('sp-2'), false);

  const res = await fetch(`${base}/spares/sp-4/session`, {
    headers: { authorization: 'Bearer nope' },
  });
  assert.equal(res.status, 401);
  assert.match(JSON.stringify(await res.json()), /spare's token is required/);

  const gone = startSpare('sp-5', spareToken('sp-5', SECRET));
  await waitFor(() => desk.isReady('sp-5'), { timeoutMs: 30_000, what: 'spare sp-5 waiting' });
  gone.child.kill('SIGKILL');
  await gone.exited;
  await waitFor(() => !desk.isReady('sp-5'), { what: 'the desk to see sp-5 gone' });
  assert.equal(desk.hand('sp-5', { SWARMML_SESSION: 'lost' }), false);
});
