import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { UnitState } from './supervisor.js';

/**
 * What a running `swarmml up` writes to $SWARMML_HOME/local-mode.json on every change, for
 * `swarmml status`: its own pid and each process it supervises. Removed on a clean stop; one
 * whose supervisor pid is gone is stale.
 */
export const LocalState = z.object({
  supervisorPid: z.number().int(),
  url: z.string(),
  updatedAt: z.string(),
  processes: z.array(
    z.object({
      name: z.string(),
      pid: z.number().int().nullable(),
      port: z.number().int().nullable(),
      state: z.enum(['starting', 'up', 'restarting', 'stopped']),
      restarts: z.number().int(),
      since: z.string().nullable(),
      lastExit: z
        .object({ code: z.number().nullable(), signal: z.string().nullable(), at: z.string() })
        .nullable(),
      spare: z.enum(['loading', 'ready', 'none']).optional(),
    }),
  ),
});
export type LocalState = z.infer<typeof LocalState>;

export function stateFile(home: string): string {
  return join(home, 'local-mode.json');
}

/** Replaces the file at once (write, then rename), so a reader never sees half of it. */
export function writeLocalState(home: string, url: string, processes: UnitState[]): void {
  const file = stateFile(home);
  const tmp = `${file}.${process.pid}.tmp`;
  const state: LocalState = {
    supervisorPid: process.pid,
    url,
    updatedAt: new Date().toISOString(),
    processes,
  };
  writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n');
  renameSync(tmp, file);
}

function readAny(home: string): LocalState | undefined {
  try {
    return LocalState.parse(JSON.parse(readFileSync(stateFile(home), 'utf8')));
  } catch {
    return undefined;
  }
}

/** The state of a local mode that runs now, or undefined (none, stale, or unreadable). */
export function readLocalState(home: string): LocalState | undefined {
  const s = readAny(home);
  return s && pidAlive(s.supervisorPid) ? s : undefined;
}

/**
 * The redis-server a local mode killed with SIGKILL left running (its services end with their
 * supervisor; Redis cannot be tied to it): the pid from the stale state file, if that process
 * still is a redis-server on the recorded port.
 */
export function leftoverRedis(home: string): number | undefined {
  const s = readAny(home);
  if (!s || pidAlive(s.supervisorPid)) return undefined;
  const redis = s.processes.find((p) => p.name === 'redis');
  if (!redis?.pid || !redis.port || !pidAlive(redis.pid)) return undefined;
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${redis.pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return undefined;
  }
  return /redis-server/.test(cmdline) && cmdline.includes(String(redis.port))
    ? redis.pid
    : undefined;
}

export function removeLocalState(home: string): void {
  rmSync(stateFile(home), { force: true });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
