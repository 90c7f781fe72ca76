/**
 * The README's commands, run as written: the quick start's `npm start` (local mode with the
 * demo, until it prints its predictions), then every command of the fenced block under
 * "## Using it" against that instance, each with its output checked. The commands are read
 * from README.md itself, so a README command that stops working fails here, and a new one
 * fails until a check for it is added below.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePortBlock } from './helpers/ports.js';
import { waitFor } from './helpers/wait.js';
import { alive, descendants } from './helpers/processes.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const HEART_DEBIAN = '/usr/share/doc/liblinear-tools/examples/heart_scale';
const HEART_FIXTURE = join(root, 'test/fixtures/heart_scale.libsvm'); // the same file, committed

/** The first fenced ```sh block after the heading `## <title>`, before the next `## `. */
function shBlock(markdown: string, title: string): string {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l.trim() === `## ${title}`);
  assert.ok(start >= 0, `README has a "## ${title}" section`);
  let i = start + 1;
  while (i < lines.length && !lines[i]!.startsWith('## ') && lines[i]!.trim() !== '```sh') i++;
  assert.ok(lines[i]?.trim() === '```sh', `"## ${title}" has a fenced sh block`);
  const end = lines.indexOf('```', i + 1);
  assert.ok(end > i, `the sh block under "## ${title}" is closed`);
  return lines.slice(i + 1, end).join('\n');
}

/**
 * The block's commands in order: comments dropped, lines split at `;` and `&&` outside
 * quotes (both run the next command after this one; every command here must succeed).
 */
function commands(block: string): string[] {
  const out: string[] = [];
  for (const line of block.split('\n')) {
    let quote: string | undefined;
    let cmd = '';
    const push = () => {
      if (cmd.trim()) out.push(cmd.trim());
      cmd = '';
    };
    for (let i = 0; i < line.length; i++) {
      const c = line[i]!;
      if (quote) {
        if (c === quote) quote = undefined;
      } else if (c === "'" || c === '"') quote = c;
      else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) break;
      else if (c === ';') {
        push();
        continue;
      } else if (c === '&' && line[i + 1] === '&') {
        push();
        i++;
        continue;
      }
      cmd += c;
    }
    push();
  }
  return out;
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A bash command in its own process group, so that it and all it starts can be killed. */
class Shell {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<Run>;

  constructor(command: string, opts: { cwd: string; env: NodeJS.ProcessEnv }) {
    this.child = spawn('bash', ['-c', command], {
      ...opts,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (d: Buffer) => (this.stdout += d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = once(this.child, 'close').then(([code, signal]) => ({
      code: code as number | null,
      signal: signal as NodeJS.Signals | null,
      stdout: this.stdout,
      stderr: this.stderr,
    }));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  signal(sig: NodeJS.Signals): void {
    try {
      process.kill(-this.child.pid!, sig);
    } catch {
      // the group is gone already
    }
  }

  /** SIGKILL to the group and to every descendant, including those in groups of their own. */
  killAll(): void {
    const pids = descendants(this.child.pid!);
    this.signal('SIGKILL');
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // exited meanwhile
      }
    }
  }
}

async function run(command: string, cwd: string, env: NodeJS.ProcessEnv, timeoutMs = 90_000) {
  const sh = new Shell(command, { cwd, env });
  const timer = setTimeout(() => sh.killAll(), timeoutMs);
  try {
    return await sh.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** dist/ is older than a source: `npm start` builds only when dist/ is missing, so ask it to. */
function distStale(): boolean {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory()
        ? walk(join(dir, e.name))
        : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')
          ? [join(dir, e.name)]
          : [],
    );
  return ['cli', 'services', 'shared'].some((top) =>
    walk(join(root, top)).some((src) => {
      const out = join(root, 'dist', relative(root, src).replace(/\.ts$/, '.js'));
      return !existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs;
    }),
  );
}

function installed(pkg: string): boolean {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

/** What each README command must print; a command with no entry here fails the test. */
type Check = (r: Run, ctx: { url: string; workdir: string }) => void | Promise<void>;
const CHECKS: [RegExp, Check][] = [
  [
    /^swarmml dataset push \S+ --name heart$/,
    (r) => assert.match(r.stdout, /^heart@v?1: 270 rows, 13 features, 2 classes \(libsvm\)/m),
  ],
  [
    /^swarmml train --model heart-mlp --dataset heart /,
    (r) => {
      assert.match(r.stdout, /^session \S+ succeeded \(exit 0\)$/m);
      assert.match(r.stderr, /^generation\.candidate: heart-mlp gen 1 .*"epochs":20/m);
      assert.match(r.stderr, /^generation\.promoted: heart-mlp gen 1 is production$/m);
    },
  ],
  [
    /^swarmml models$/,
    (r) => {
      assert.match(r.stdout, /^MODEL\s+TYPE\s+PRODUCTION\s+GENERATIONS/m);
      assert.match(r.stdout, /^heart-mlp\s+classifier\s+1\s+1\s/m);
      assert.match(r.stdout, /^fashion-mlp\s+classifier\s+1\s+1\s/m); // the demo's
    },
  ],
  [
    /^swarmml model show heart-mlp$/,
    (r) => {
      assert.match(r.stdout, /^heart-mlp \(classifier\)\s+production: 1$/m);
      assert.match(r.stdout, /gen 1\s+production\s+heart@1\s+valAccuracy=0\.\d{4}/);
    },
  ],
  [
    /^echo '.*' > request\.json$/,
    (_r, { workdir }) => {
      const body = JSON.parse(readFileSync(join(workdir, 'request.json'), 'utf8'));
      assert.equal(body.instances[0].length, 13, 'one heart_scale row of 13 features');
    },
  ],
  [
    /^swarmml predict heart-mlp --input request\.json$/,
    (r) => {
      // One row: its class, that class's probability, and both classes ranked.
      assert.match(r.stdout, /^ROW\s+LABEL\s+SCORE\s+TOP-3$/m);
      const row = /^0\s+(\S+)\s+([01]\.\d{4})\s+(\S+) ([01]\.\d{3}), (\S+) ([01]\.\d{3})$/m.exec(
        r.stdout,
      );
      assert.ok(row, r.stdout);
      assert.equal(row[1], row[3], 'the label is the best class');
      assert.ok(Math.abs(Number(row[4]) + Number(row[6]) - 1) < 2e-3, 'probabilities sum to 1');
    },
  ],
  [
    /^swarmml sessions$/,
    (r) => {
      assert.match(r.stdout, /^\S{8}\s+train\s+succeeded\s+heart-mlp\s+heart@1\s/m);
      assert.match(r.stdout, /^\S{8}\s+train\s+succeeded\s+fashion-mlp\s+fashion-mnist-demo@1\s/m);
      assert.match(r.stdout, /^\(2 of 2\)$/m);
    },
  ],
  [
    /^swarmml status$/,
    (r) => {
      assert.match(r.stdout, /^gateway\s+http:\S+\s+ready$/m);
      assert.match(r.stdout, /^local mode \(supervisor pid \d+\)$/m);
      for (const name of [
        'redis',
        'event-handler',
        'event-listener',
        'data-intake',
        'serving',
        'gateway',
      ])
        assert.match(
          r.stdout,
          // SPARE: only the gateway keeps one, loaded or still loading
          new RegExp(
            `^\\s+${name}\\s+\\d+\\s+\\d+\\s+ready\\s+0\\s+${name === 'gateway' ? '(ready|loading)' : '-'}$`,
            'm',
          ),
          name,
        );
    },
  ],
  [
    /^swarmml token create ci --role client$/,
    async (r, { url }) => {
      assert.match(r.stdout, /^created client token "ci" \(id \S+\)$/m);
      const token = /^(smt_\S+)$/m.exec(r.stdout)?.[1];
      assert.ok(token, `the new token is printed:\n${r.stdout}`);
      // The printed token works, with a client's rights: it reads, and may not make tokens.
      const auth = { authorization: `Bearer ${token}` };
      assert.equal((await fetch(`${url}/api/v1/models`, { headers: auth })).status, 200);
      const mint = await fetch(`${url}/api/v1/tokens`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'nope', role: 'admin' }),
      });
      assert.equal(mint.status, 403);
    },
  ],
];

test('the README runs as written: npm start with the demo, then every "Using it" command', async (t) => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const start = commands(
    shBlock(readme, 'Quick start (Debian 12 with Node.js 20; root, or sudo for apt)'),
  );
  // setup.sh (apt, npm ci, build) has prepared this machine already; the test runs what it
  // hands over to: `npm start`.
  assert.ok(start.includes('npm start'), `the quick start runs npm start: ${start.join(' | ')}`);
  const using = commands(shBlock(readme, 'Using it'));
  assert.ok(using.length >= 8, `the "Using it" block: ${using.join(' | ')}`);
  assert.ok(
    existsSync('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz'),
    'the demo data (Debian dataset-fashion-mnist, installed by scripts/setup.sh) is present',
  );

  const home = mkdtempSync(join(tmpdir(), 'swarmml-readme-home-'));
  const workdir = mkdtempSync(join(tmpdir(), 'swarmml-readme-cwd-'));
  const port = await freePortBlock(10); // the gateway, the services after it, redis at +9
  const url = `http://127.0.0.1:${port}`;
  const base: NodeJS.ProcessEnv = {
    ...process.env,
    SWARMML_HOME: home,
    SWARMML_PORT: String(port),
  };
  for (const k of ['NODE_TEST_CONTEXT', 'SWARMML_URL', 'SWARMML_TOKEN', 'SWARMML_DEMO'])
    delete base[k];
  for (const k of Object.keys(base)) if (k.startsWith('SWARMML_REDIS')) delete base[k];
  const platform = new Shell('npm start', {
    cwd: root,
    env: { ...base, LOG_LEVEL: 'warn', ...(distStale() ? { SWARMML_REBUILD: '1' } : {}) },
  });
  const began = Date.now();
  const followers: Shell[] = [];
  const output = () => platform.stdout + platform.stderr;
  try {
    await waitFor(() => /^\[demo\]\s+done\. /m.test(platform.stdout) || !platform.running, {
      timeoutMs: 240_000,
      intervalMs: 100,
      what: `npm start's demo to finish:\n${output()}`,
    });
    assert.ok(platform.running, `npm start is still running:\n${output()}`);
    const out = platform.stdout;
    assert.match(out, /^\[swarmml\]\s+gateway ready: http:\/\/127\.0\.0\.1:\d+/m);
    assert.match(out, /^\[demo\]\s+dataset fashion-mnist-demo@1: 10000 samples$/m);
    assert.match(out, /^\[demo\]\s+epoch 6\/6\s+loss \d/m);
    assert.match(out, /^\[demo\]\s+fashion-mlp generation 1 is now production$/m);
    const predictions = [
      ...out.matchAll(/^\[demo\]\s+image (\d): predicted (.+) \((\d+\.\d)%\), true (.+)$/gm),
    ];
    assert.deepEqual(
      predictions.map((m) => Number(m[1])),
      [0, 1, 2, 3, 4],
      `five predictions:\n${out}`,
    );
    for (const m of predictions) assert.ok(Number(m[3]) > 10 && Number(m[3]) <= 100, m[0]);
    const token = readFileSync(join(home, 'admin.token'), 'utf8').trim();
    assert.ok(out.includes(`admin token: ${token}`), 'npm start prints the admin token it keeps');

    t.diagnostic(
      `npm start printed its predictions after ${((Date.now() - began) / 1000).toFixed(1)} s`,
    );
    const commandsBegan = Date.now();
    const env = { ...base, SWARMML_URL: url, SWARMML_TOKEN: token };
    const ctx = { url, workdir };
    const ran: string[] = [];
    for (const written of using) {
      const apt = /^apt-get install -y ([\w\s.+-]+)$/.exec(written);
      if (apt) {
        // setup.sh --test installs these; apt needs root and the network, which a test has not.
        const missing = apt[1]!
          .trim()
          .split(/\s+/)
          .filter((p) => !installed(p));
        if (missing.length && process.getuid?.() === 0) {
          const r = await run(written, workdir, env, 180_000);
          assert.equal(r.code, 0, `${written}\n${r.stdout}${r.stderr}`);
        }
        ran.push(written);
        continue;
      }
      if (written === 'npm link') {
        // Global, and needs the registry's prefix: not run here. What it links must be there.
        const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
        const bin = join(root, pkg.bin.swarmml);
        assert.match(readFileSync(bin, 'utf8'), /^#!\/usr\/bin\/env node\n/, bin);
        assert.ok(statSync(bin).mode & 0o111, `${bin} is executable`);
        ran.push(written);
        continue;
      }
      // The checkout's bin, which `npm link` puts on PATH as `swarmml`; the cwd is a scratch
      // dir (any directory works) so that request.json is not written into the repository.
      let command = written.replace(/^swarmml\b/, `node ${join(root, 'bin/swarmml.js')}`);
      if (!existsSync(HEART_DEBIAN)) command = command.replace(HEART_DEBIAN, HEART_FIXTURE);
      const shown = written.replace(/^npx /, '');
      if (/^swarmml events --follow$/.test(shown)) {
        // It never ends: it must replay the history, then keep following until killed.
        const f = new Shell(command, { cwd: workdir, env });
        followers.push(f);
        await waitFor(
          () => /generation\.promoted\s+heart-mlp gen 1 is production/.test(f.stdout) || !f.running,
          {
            timeoutMs: 30_000,
            what: `events --follow to replay the history:\n${f.stdout}${f.stderr}`,
          },
        );
        assert.ok(f.running, `events --follow keeps following:\n${f.stdout}${f.stderr}`);
        assert.match(f.stdout, /dataset\.version\s+\{"name":"heart","version":1,"count":270/);
        assert.match(f.stdout, /\sepoch\s+epoch 20\/20 loss \d/);
        f.signal('SIGTERM');
        await f.exited;
        ran.push(written);
        continue;
      }
      const check = CHECKS.find(([re]) => re.test(shown));
      assert.ok(
        check,
        `no check for the README command "${written}": add one to test/readme.test.ts`,
      );
      const r = await run(command, workdir, env);
      assert.equal(r.code, 0, `"${written}" exited ${r.code ?? r.signal}:\n${r.stdout}${r.stderr}`);
      try {
        await check[1](r, ctx);
      } catch (err) {
        throw new Error(
          `"${written}" printed what the README does not promise:\n${r.stdout}${r.stderr}`,
          {
            cause: err,
          },
        );
      }
      ran.push(written);
    }
    assert.deepEqual(ran, using);
    t.diagnostic(
      `the README's commands took ${((Date.now() - commandsBegan) / 1000).toFixed(1)} s`,
    );

    // Ctrl-C, as the README says, stops everything: a terminal sends SIGINT to the whole
    // foreground group. (npm itself then ends by SIGINT, whatever its child's exit code.)
    const kids = descendants(platform.child.pid!);
    assert.ok(kids.length >= 6, 'npm, local mode, redis-server and the five services run');
    const seen = { out: platform.stdout.length, err: platform.stderr.length };
    platform.signal('SIGINT');
    await platform.exited;
    assert.match(platform.stdout, /^\[swarmml\]\s+SIGINT: stopping services and redis-server$/m);
    // Only local mode gets the SIGINT (its processes run in groups of their own) and stops
    // them in order, Redis last: no service loses a dependency while it still runs.
    const after = platform.stdout.slice(seen.out) + platform.stderr.slice(seen.err);
    const errors = after
      .split('\n')
      .filter((l) => /ECONNREFUSED|"level":(50|60)|\berror\b/i.test(l));
    assert.deepEqual(errors, [], `error lines after Ctrl-C:\n${after}`);
    await waitFor(() => kids.every((p) => !alive(p)), {
      timeoutMs: 30_000,
      what: `every process of npm start to exit:\n${output()}`,
    });
  } finally {
    for (const f of followers) f.killAll();
    platform.killAll();
    rmSync(home, { recursive: true, force: true });
    rmSync(workdir, { recursive: true, force: true });
  }
});

test('the README parser splits lines at ; and && outside quotes and drops comments', () => {
  const block = [
    'apt-get install -y x                 # why',
    'a --n 1; b   # c; d',
    'echo \'{"a": 1; # no}\' > f.json',
    'bash s.sh && npm start    # both',
  ].join('\n');
  assert.deepEqual(commands(block), [
    'apt-get install -y x',
    'a --n 1',
    'b',
    'echo \'{"a": 1; # no}\' > f.json',
    'bash s.sh',
    'npm start',
  ]);
  const md =
    '# t\n\n## Using it\n\ntext\n\n```sh\nnpx swarmml models\n```\n\n## Next\n```sh\nno\n```\n';
  assert.equal(shBlock(md, 'Using it'), 'npx swarmml models');
  assert.throws(() => shBlock(md.replace('```sh\nnpx', '```\nnpx'), 'Using it'), /fenced sh block/);
});
