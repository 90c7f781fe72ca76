import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import Docker from 'dockerode';

export const DOCKER_BIN = '/usr/bin/docker';
/** Fake GPU ids the test daemon advertises (only when these tests start dockerd themselves). */
export const FAKE_GPU = 'GPU-fake-0';

export type SwarmEnv = { docker: Docker; skip: false } | { docker: undefined; skip: string };

let cached: SwarmEnv | undefined;

/**
 * Makes sure a swarm is there (installing/starting dockerd through scripts/ensure-docker.sh)
 * and the seeded base images exist; otherwise returns why the swarm tests must skip.
 */
export function swarmEnv(): SwarmEnv {
  if (cached) return cached;
  if (process.env.SWARMML_SKIP_SWARM === '1') {
    const why = process.env.SWARMML_SKIP_REASON ?? 'SWARMML_SKIP_SWARM=1';
    return (cached = { docker: undefined, skip: why });
  }
  const ensure = spawnSync('scripts/ensure-docker.sh', {
    encoding: 'utf8',
    env: { ...process.env, SWARMML_FAKE_GPUS: process.env.SWARMML_FAKE_GPUS ?? FAKE_GPU },
  });
  if (ensure.status !== 0) {
    const why = `no swarm: ${(ensure.stderr || ensure.error?.message || 'ensure-docker failed').trim()}`;
    console.log(`# swarm tests skipped: ${why}`);
    return (cached = { docker: undefined, skip: why });
  }
  const seed = spawnSync('scripts/seed-images.sh', { encoding: 'utf8' });
  if (seed.status !== 0) throw new Error(`seed-images.sh failed: ${seed.stderr}`);
  return (cached = { docker: new Docker({ socketPath: '/var/run/docker.sock' }), skip: false });
}

/** Runs /usr/bin/docker, throwing with its stderr when it fails. */
export function dockerCli(args: string[], opts: { allowFail?: boolean } = {}): string {
  const r = spawnSync(DOCKER_BIN, args, { encoding: 'utf8' });
  if (r.status !== 0 && !opts.allowFail) {
    throw new Error(`docker ${args.join(' ')}: ${r.stderr}`);
  }
  return r.stdout.trim();
}

export function hasDockerBinary(): boolean {
  return existsSync(DOCKER_BIN);
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
