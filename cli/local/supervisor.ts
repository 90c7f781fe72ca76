import {
  DEFAULT_RESTART_POLICY,
  describeExit,
  nextAttempt,
  restartDelay,
  type RestartPolicy,
} from './restart-policy.js';
import type { SpareState, StartKind, Unit } from './units.js';

/** What `swarmml status` shows of one supervised process. */
export interface UnitState {
  name: string;
  pid: number | null;
  port: number | null;
  state: 'starting' | 'up' | 'restarting' | 'stopped';
  /** crashes the supervisor has restarted (or is restarting) it after */
  restarts: number;
  /** when the current process started (ISO) */
  since: string | null;
  lastExit: { code: number | null; signal: string | null; at: string } | null;
  /** for a process that keeps a spare (the gateway): whether one stands by, loaded */
  spare?: SpareState;
}

interface Slot {
  unit: Unit;
  /** a unit that must be up before this one is restarted (Redis, for the services) */
  needs: Slot | undefined;
  state: UnitState['state'];
  restarts: number;
  /** consecutive crashes without a stable run between them */
  attempt: number;
  startedAt: number;
  lastExit: UnitState['lastExit'];
  timer: NodeJS.Timeout | undefined;
  starting: Promise<StartKind> | undefined;
  waiters: (() => void)[];
}

export interface SupervisorOptions {
  log: (msg: string) => void;
  policy?: RestartPolicy;
  /** after every change of state (the state file) */
  onChange?: (states: UnitState[]) => void;
  /** an exit before `supervise()` was called (start-up fails) */
  onEarlyExit?: (name: string, code: number | null, signal: string | null) => void;
}

/**
 * Local mode's small init: keeps each unit running, restarting one that dies with backoff
 * (restart-policy.ts), a service only once Redis is up; stops in stages, supervision first.
 */
export class Supervisor {
  private readonly slots = new Map<string, Slot>();
  private readonly policy: RestartPolicy;
  private supervising = false;
  private stopping = false;

  constructor(private readonly o: SupervisorOptions) {
    this.policy = o.policy ?? DEFAULT_RESTART_POLICY;
  }

  add(unit: Unit, opts: { needs?: string } = {}): void {
    const needs = opts.needs ? this.slots.get(opts.needs) : undefined;
    if (opts.needs && !needs) throw new Error(`${unit.name} needs ${opts.needs}, not added yet`);
    const slot: Slot = {
      unit,
      needs,
      state: 'stopped',
      restarts: 0,
      attempt: 0,
      startedAt: 0,
      lastExit: null,
      timer: undefined,
      starting: undefined,
      waiters: [],
    };
    this.slots.set(unit.name, slot);
    unit.onExit((code, signal) => this.exited(slot, code, signal));
  }

  /** Starts a unit for the first time; rejects if it cannot start. */
  async start(name: string): Promise<void> {
    await this.run(this.slot(name));
  }

  /** From now on, a unit that dies is restarted (units that keep a spare start it now). */
  supervise(): void {
    this.supervising = true;
    for (const slot of this.slots.values()) slot.unit.standby?.(() => this.changed());
  }

  /**
   * Stops supervision (no restart from now on, pending ones dropped), then the units stage
   * after stage: each stage's units together, the next stage once they all exited.
   */
  async stop(stages: readonly (readonly string[])[], graceMs: number): Promise<void> {
    this.stopping = true;
    for (const slot of this.slots.values()) {
      clearTimeout(slot.timer);
      slot.timer = undefined;
      this.wake(slot);
    }
    const named = new Set(stages.flat());
    const rest = [...this.slots.keys()].filter((n) => !named.has(n));
    for (const stage of [...stages, rest]) {
      await Promise.all(
        stage.map(async (name) => {
          const slot = this.slots.get(name);
          if (!slot) return;
          await slot.starting?.catch(() => {});
          await slot.unit.stop(graceMs);
          slot.state = 'stopped';
        }),
      );
    }
    this.changed();
  }

  states(): UnitState[] {
    return [...this.slots.values()].map((s) => ({
      name: s.unit.name,
      pid: s.state === 'up' ? (s.unit.pid ?? null) : null,
      port: s.unit.port ?? null,
      state: s.state,
      restarts: s.restarts,
      since: s.state === 'up' ? new Date(s.startedAt).toISOString() : null,
      lastExit: s.lastExit,
      ...(s.unit.spare ? { spare: s.unit.spare } : {}),
    }));
  }

  private slot(name: string): Slot {
    const s = this.slots.get(name);
    if (!s) throw new Error(`no unit ${name}`);
    return s;
  }

  private async run(slot: Slot): Promise<StartKind> {
    slot.state = 'starting';
    this.changed();
    slot.starting = slot.unit.start();
    let kind: StartKind;
    try {
      kind = await slot.starting;
    } catch (err) {
      slot.state = 'stopped';
      this.changed();
      throw err;
    } finally {
      slot.starting = undefined;
    }
    slot.state = 'up';
    slot.startedAt = Date.now();
    this.wake(slot);
    this.changed();
    return kind;
  }

  private exited(slot: Slot, code: number | null, signal: NodeJS.Signals | null): void {
    // A start in flight reports its own failure (a Redis that dies before answering PING).
    if (slot.state === 'starting') return;
    slot.lastExit = { code, signal, at: new Date().toISOString() };
    if (this.stopping || !this.supervising) {
      slot.state = 'stopped';
      this.changed();
      if (!this.stopping) this.o.onEarlyExit?.(slot.unit.name, code, signal);
      return;
    }
    this.scheduleRestart(slot, describeExit(code, signal));
  }

  private scheduleRestart(slot: Slot, why: string): void {
    const upMs = Date.now() - slot.startedAt;
    slot.attempt = nextAttempt(slot.attempt, upMs, this.policy);
    slot.restarts++;
    slot.state = 'restarting';
    const delay = restartDelay(slot.attempt, this.policy);
    this.o.log(
      `${slot.unit.name} exited (${why}) after ${formatMs(upMs)}; restart ${slot.attempt} in ${delay} ms`,
    );
    this.changed();
    slot.timer = setTimeout(() => void this.restart(slot), delay);
  }

  private async restart(slot: Slot): Promise<void> {
    slot.timer = undefined;
    if (this.stopping) return;
    const needs = slot.needs;
    if (needs && needs.state !== 'up') {
      this.o.log(`${slot.unit.name} waits for ${needs.unit.name} to be up before restarting`);
      await new Promise<void>((resolve) => needs.waiters.push(resolve));
      if (this.stopping) return;
    }
    let kind: StartKind;
    try {
      kind = await this.run(slot);
    } catch (err) {
      if (this.stopping) return;
      // A half-started process (redis-server up but not answering) goes before the next try.
      await slot.unit.stop(1_000).catch(() => {});
      slot.startedAt = Date.now();
      this.scheduleRestart(slot, `restart failed: ${(err as Error).message}`);
      return;
    }
    const how = kind === 'warm' ? ' from its spare' : '';
    this.o.log(`${slot.unit.name} restarted (pid ${slot.unit.pid ?? '?'})${how}`);
    slot.unit.standby?.(() => this.changed());
  }

  private wake(slot: Slot): void {
    const waiters = slot.waiters.splice(0);
    for (const w of waiters) w();
  }

  private changed(): void {
    this.o.onChange?.(this.states());
  }
}

function formatMs(ms: number): string {
  return ms < 10_000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
}
