/**
 * `swarmml train --trainer external --command ... --param k=v`: a Python trainer started from
 * the CLI in local mode, followed live to its candidate's decision.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { collectParams, splitCommand } from '../../cli/commands/sessions.js';
import { LOCAL_ALLOWED_COMMANDS } from '../../cli/local/local-mode.js';
import { runCli } from '../helpers/cli.js';
import { startDigitsPlatform, type DigitsPlatform } from '../helpers/digits-platform.js';

describe('the command line of an external trainer', () => {
  test('splits like a shell for words and quotes, without running one', () => {
    assert.deepEqual(splitCommand('python3 examples/pytorch/train.py'), [
      'python3',
      'examples/pytorch/train.py',
    ]);
    assert.deepEqual(splitCommand(`  python3 -c "print('a b')" --x='1 2' y\\ `), [
      'python3',
      '-c',
      "print('a b')",
      '--x=1 2',
      'y\\',
    ]);
    assert.deepEqual(splitCommand('sh -c "echo \\"hi\\""; rm -rf /'), [
      'sh',
      '-c',
      'echo "hi";',
      'rm',
      '-rf',
      '/',
    ]);
  });

  test('--param values are JSON when they parse, else text', () => {
    let p = collectParams('epochs=3');
    p = collectParams('lr=0.001', p);
    p = collectParams('name=cnn=v2', p);
    p = collectParams('hidden=[64,32]', p);
    assert.deepEqual(p, { epochs: 3, lr: 0.001, name: 'cnn=v2', hidden: [64, 32] });
    assert.throws(() => collectParams('noequals'), /expected key=value/);
  });

  test("local mode allow-lists Debian's python3 by default", () => {
    assert.deepEqual(LOCAL_ALLOWED_COMMANDS.split(','), ['python3', '/usr/bin/python3']);
  });
});

describe('swarmml train --trainer external', () => {
  let d: DigitsPlatform;
  before(async () => {
    const env = { ALLOWED_COMMANDS: LOCAL_ALLOWED_COMMANDS };
    d = await startDigitsPlatform({ handlerEnv: env, gatewayEnv: env });
  });
  after(async () => {
    await d?.close();
  });
  const swarmml = (...args: string[]) => runCli(d.p.url, d.p.token, ...args);

  test('runs the command with the params, follows it, and the candidate is decided', async () => {
    // Debian's interpreter by path: the one with numpy and onnx (a PATH python3 may be another).
    const r = await swarmml(
      'train',
      '--model',
      'cli-lin',
      '--dataset',
      'digits',
      '--trainer',
      'external',
      '--command',
      '/usr/bin/python3 examples/linear/train.py',
      '--param',
      'epochs=4',
      '--param',
      'lr=0.5',
      '--json',
    );
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const s = JSON.parse(r.stdout);
    assert.equal(s.state, 'succeeded');
    // The relative script path was sent absolute: the worker runs in the handler's directory.
    assert.equal(s.request.container.command[0], '/usr/bin/python3');
    assert.match(s.request.container.command[1], /^\/.*\/examples\/linear\/train\.py$/);
    assert.deepEqual(s.request.params, { epochs: 4, lr: 0.5 });
    const epochs = s.events.filter((e: { kind: string }) => e.kind === 'epoch');
    assert.equal(epochs.length, 4);
    assert.equal(typeof epochs[3].payload.macroF1, 'number');
    const [gen, ...more] = await d.registry.listGenerations('cli-lin');
    assert.equal(more.length, 0);
    assert.equal(gen!.sessionId, s.id);
    assert.ok(['production', 'rejected'].includes(gen!.status), 'decided before the CLI ended');
  });

  test('an external trainer without --command or --image, or --command without external, is refused', async () => {
    const a = await swarmml(
      'train',
      '--model',
      'x',
      '--dataset',
      'digits',
      '--trainer',
      'external',
    );
    assert.notEqual(a.code, 0);
    assert.match(a.stderr, /--trainer external needs --command \(local mode\) or --image/);
    const b = await swarmml('train', '--model', 'x', '--dataset', 'digits', '--command', 'python3');
    assert.notEqual(b.code, 0);
    assert.match(b.stderr, /--command and --image go with --trainer external/);
  });
});
