/**
 * Dashboard benchmark, in one headless Chromium (Debian's) against one gateway, rounds
 * interleaved: the Sessions page showing N sessions (from the route change to N rows in the
 * table), against the floor of the same work done plainly in the same page (fetch the same
 * list, build an unescaped, unsorted table with innerHTML, wait for the next frame), and
 * against the fetch alone. In the same run: from pasting a token to the first session rows, and
 * the Compare page drawing 10 sessions × 100 epochs against the REST reads it needs alone.
 *
 *   node --import tsx scripts/bench/dashboard/main.ts   env: BENCH_SESSIONS=1000  BENCH_ROUNDS=15
 */
import { cpus, loadavg } from 'node:os';
import type { SessionRecord } from '../../../web/src/types.js';
import { EventLog, Keys, SessionStore } from '../../../shared/index.js';
import { startTestRedis } from '../../../test/helpers/redis.js';
import { hasChromium, launchChromium, logIn, startDashboard } from '../../../test/web/harness.js';

// The Sessions page shows 1,000 rows before "More": the bench times that first screenful.
const n = Math.min(1000, Number(process.env.BENCH_SESSIONS ?? 1000));
const rounds = Number(process.env.BENCH_ROUNDS ?? 15);
if (!hasChromium()) {
  console.error('needs /usr/bin/chromium (apt-get install chromium)');
  process.exit(2);
}

const r = await startTestRedis();
const d = await startDashboard(r);
const browser = await launchChromium();
try {
  const sessions = new SessionStore(r.client(), new Keys(d.platform.prefix));
  for (let i = 0; i < n; i += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, n - i) }, async (_, j) => {
        const s = await sessions.create({
          kind: 'train',
          request: { model: `m-${(i + j) % 7}`, dataset: `digits@${((i + j) % 3) + 1}` },
        });
        if ((i + j) % 4 === 0) {
          await sessions.transition(s.id, 'starting', {
            placement: { backend: 'process', node: 'local' },
            workerId: String(10_000 + i + j),
          });
          await sessions.transition(s.id, 'running');
          await sessions.transition(s.id, 'failed', { exitCode: 137 });
        }
      }),
    );
  }
  // 10 finished sessions of 100 epochs each, for the Compare page.
  const COMPARED = 10;
  const EPOCHS = 100;
  const events = new EventLog(r.client(), new Keys(d.platform.prefix));
  const compared: string[] = [];
  for (let k = 0; k < COMPARED; k++) {
    const s = await sessions.create({
      kind: 'train',
      request: {
        model: 'cmp',
        dataset: 'digits@1',
        trainer: 'mlp',
        params: { lr: 0.01 * (k + 1), epochs: EPOCHS },
      },
    });
    compared.push(s.id);
    await Promise.all(
      Array.from({ length: EPOCHS }, (_, e) =>
        events.append({
          kind: 'epoch',
          sessionId: s.id,
          payload: {
            epoch: e + 1,
            epochs: EPOCHS,
            loss: 2 / (e + 1 + k),
            valLoss: 2.2 / (e + 1 + k),
            trainAccuracy: 1 - 1 / (e + 2 + k),
            valAccuracy: 1 - 1.1 / (e + 2 + k),
          },
        }),
      ),
    );
  }

  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await logIn(page, d.url, d.token);

  // Every contender starts from the same small page, and its time ends once the rows are
  // laid out (reading offsetHeight forces style and layout), not merely in the DOM.
  const fromModelsPage = async () => {
    await page.goto(`${d.url}/#/models`);
    await page.locator('[data-page="models"]').waitFor();
  };
  const dashboard = async () => {
    await fromModelsPage();
    return page.evaluate(async (rows) => {
      const t0 = performance.now();
      location.hash = '#/sessions';
      for (;;) {
        if (document.querySelectorAll('table.sessions tbody tr').length === rows) {
          void document.body.offsetHeight;
          return performance.now() - t0;
        }
        await new Promise(requestAnimationFrame);
      }
    }, n);
  };
  const plain = async (render: boolean) => {
    await fromModelsPage();
    return page.evaluate(
      async ([rows, draw]) => {
        const token = sessionStorage.getItem('swarmml.token');
        const t0 = performance.now();
        const res = await fetch(`/api/v1/sessions?limit=${rows}`, {
          headers: { authorization: `Bearer ${token}` },
        });
        const body = (await res.json()) as { items: SessionRecord[] };
        if (draw) {
          const el = document.createElement('table');
          // No named helpers in here: tsx would wrap them in a __name() the page lacks.
          el.innerHTML = body.items
            .map(
              (x) =>
                `<tr>${[
                  x.id,
                  x.state,
                  x.kind,
                  x.request?.model ?? '',
                  x.request?.dataset ?? '',
                  x.workerId ?? '',
                  x.started ?? x.created,
                  x.ended ?? '',
                  String(x.exitCode ?? ''),
                  x.flags.join(' '),
                ]
                  .map((c) => `<td>${c}</td>`)
                  .join('')}</tr>`,
            )
            .join('');
          document.body.append(el);
          void document.body.offsetHeight;
          const ms = performance.now() - t0;
          el.remove();
          return ms;
        }
        return performance.now() - t0;
      },
      [n, render] as const,
    );
  };

  // From the login form with a token pasted to the first row of the Sessions table, in a
  // fresh tab each time (nothing in its session storage).
  const tokenToRows = async () => {
    const tab = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      await tab.goto(d.url);
      await tab.getByLabel('API token').fill(d.token);
      return await tab.evaluate(async () => {
        const t0 = performance.now();
        document
          .querySelector<HTMLButtonElement>('form.login button[type="submit"], form.login button')!
          .click();
        for (;;) {
          if (document.querySelector('table.sessions tbody tr[data-id]')) {
            void document.body.offsetHeight;
            return performance.now() - t0;
          }
          await new Promise(requestAnimationFrame);
        }
      });
    } finally {
      await tab.close();
    }
  };
  // The Compare page: route change to every metric's chart drawn with all 100 epochs.
  const comparePage = async () => {
    await fromModelsPage();
    return page.evaluate(async (ids) => {
      const t0 = performance.now();
      location.hash = `#/compare/${ids.join(',')}`;
      for (;;) {
        const charts = document.querySelectorAll('figure.chart[data-metric][data-points="100"]');
        if (charts.length === 4) {
          void document.body.offsetHeight;
          return performance.now() - t0;
        }
        await new Promise(requestAnimationFrame);
      }
    }, compared);
  };
  // Its floor: the same ten REST reads (each session with its events), in parallel, parsed,
  // from this process.
  const compareFetch = async () => {
    const t0 = performance.now();
    await Promise.all(
      compared.map((id) =>
        fetch(`${d.url}/api/v1/sessions/${id}`, {
          headers: { authorization: `Bearer ${d.token}` },
        }).then((res) => res.json()),
      ),
    );
    return performance.now() - t0;
  };

  const contenders: Record<string, () => Promise<number>> = {
    'Sessions page': dashboard,
    'plain table (fetch + innerHTML)': () => plain(true),
    'fetch + JSON only': () => plain(false),
    'token → first rows (fresh tab)': tokenToRows,
    'Compare 10 × 100 epochs': comparePage,
    'Compare: its 10 REST reads only': compareFetch,
  };
  const times = new Map(Object.keys(contenders).map((k) => [k, [] as number[]]));
  for (const run of Object.values(contenders)) await run(); // warm caches and the JIT
  for (let i = 0; i < rounds; i++)
    for (const [name, run] of Object.entries(contenders)) times.get(name)!.push(await run());

  const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const floor = p50(times.get('plain table (fetch + innerHTML)')!);
  console.log(
    `dashboard: ${n} sessions, ${rounds} rounds, ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)}`,
  );
  const floorCmp = p50(times.get('Compare: its 10 REST reads only')!);
  console.log(
    'contender                          p50 ms   max ms   p50 / plain table   p50 / its reads',
  );
  for (const [name, xs] of times) {
    console.log(
      `${name.padEnd(34)} ${p50(xs).toFixed(0).padStart(6)}   ${Math.max(...xs)
        .toFixed(0)
        .padStart(
          6,
        )}   ${(p50(xs) / floor).toFixed(2).padStart(16)}x   ${name.startsWith('Compare') ? `${(p50(xs) / floorCmp).toFixed(2)}x` : ''}`,
    );
  }
} finally {
  await browser.close();
  await d.close();
  await r.stop();
}
