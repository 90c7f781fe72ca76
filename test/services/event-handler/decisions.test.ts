import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createLogger,
  EventLog,
  Keys,
  ModelRegistry,
  type StoredEvent,
} from '../../../shared/index.js';
import { HandlerClient } from '../../../services/event-listener/handler-client.js';
import { startTestPlatform, type TestPlatform } from '../../helpers/platform.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';

/**
 * Decisions sent the way the event-listener sends them (its real client, over the real
 * handler's socket) against generations in a real registry.
 */
describe('one final decision per generation', () => {
  let r: TestRedis;
  let p: TestPlatform;
  let registry: ModelRegistry;
  let events: EventLog;
  let client: HandlerClient;
  before(async () => {
    r = await startTestRedis();
    p = await startTestPlatform(r, { listener: false });
    const keys = new Keys(p.prefix);
    registry = new ModelRegistry(r.client(), keys);
    events = new EventLog(r.client(), keys);
    client = new HandlerClient({
      url: `http://127.0.0.1:${p.handlerPort}`,
      token: p.token,
      log: createLogger('test', 'silent'),
    });
  });
  after(async () => {
    await client?.close();
    await p?.close();
    await r?.stop();
  });

  const addCandidate = async (model: string) =>
    (
      await registry.addGeneration(model, {
        type: 'classifier',
        weights: Buffer.from('onnx'),
        metrics: { valAccuracy: 0.9 },
      })
    ).gen;
  const decide = (
    model: string,
    gen: number,
    action: 'accept' | 'reject',
    causeId: string,
  ): Promise<void> =>
    client.send({
      causeId,
      decision: { action, reason: `${action} by test`, rule: 'accept.test', model, gen },
    });
  const about = async (model: string): Promise<StoredEvent[]> =>
    (await events.range({ count: 1000 })).filter(
      (e) => (e.payload as { model?: string } | null)?.model === model,
    );

  test('an accept that arrives after the generation was rejected is dropped, unarchived', async () => {
    const gen = await addCandidate('late');
    // What the handler does when the candidate's session ends without succeeding.
    await registry.reject('late', gen, 'session stopped before its candidate was decided');
    await decide('late', gen, 'accept', 'cause-late-1');
    const g = await registry.getGeneration('late', gen);
    assert.equal(g.status, 'rejected');
    assert.equal(g.reason, 'session stopped before its candidate was decided');
    assert.equal(await registry.getProduction('late'), null);
    assert.deepEqual(
      (await about('late')).map((e) => e.kind),
      [],
      'no accept decision and no promotion archived',
    );
  });

  test('an accepted generation is not rejected later; a rejected one keeps its first reason', async () => {
    const gen = await addCandidate('twice');
    await decide('twice', gen, 'accept', 'cause-twice-1');
    await decide('twice', gen, 'reject', 'cause-twice-2');
    assert.equal((await registry.getGeneration('twice', gen)).status, 'production');
    const kinds = (await about('twice')).map(
      (e) => `${e.kind}:${(e.payload as { action?: string }).action ?? ''}`,
    );
    assert.deepEqual(kinds, ['decision:accept', 'generation.promoted:']);

    const other = await addCandidate('twice');
    await decide('twice', other, 'reject', 'cause-twice-3');
    await decide('twice', other, 'reject', 'cause-twice-4');
    await decide('twice', other, 'accept', 'cause-twice-5');
    const g = await registry.getGeneration('twice', other);
    assert.equal(g.status, 'rejected');
    const decisions = (await about('twice')).filter(
      (e) => e.kind === 'decision' && (e.payload as { gen: number }).gen === other,
    );
    assert.deepEqual(
      decisions.map((e) => (e.payload as { action: string }).action),
      ['reject'],
    );
    assert.equal((await registry.getProduction('twice'))?.gen, gen);
  });
});
