/**
 * CPU time of a process and its descendants (the serving process and its model processes),
 * from Linux's /proc: per-request CPU says where the time goes even when other load on the
 * machine makes wall-clock figures noisy. Undefined where /proc is not readable.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_S = 100; // USER_HZ on Linux

interface Stat {
  ppid: number;
  cpuS: number;
}

function readStat(pid: string): Stat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may hold spaces: fields after its closing parenthesis
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), cpuS: (Number(f[11]) + Number(f[12])) / TICKS_PER_S };
  } catch {
    return undefined; // gone meanwhile
  }
}

export function treeCpuSeconds(root: number): number | undefined {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return undefined;
  }
  const stats = new Map<number, Stat>();
  for (const p of pids) {
    const s = readStat(p);
    if (s) stats.set(Number(p), s);
  }
  if (!stats.has(root)) return undefined;
  const children = new Map<number, number[]>();
  for (const [pid, s] of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), pid]);
  let total = 0;
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    total += stats.get(pid)?.cpuS ?? 0;
    stack.push(...(children.get(pid) ?? []));
  }
  return total;
}
