import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
}

/**
 * Local mode's services as child processes: output prefixed with the service name,
 * stopped together (SIGTERM, then SIGKILL after a grace period) so nothing is orphaned.
 */
export class ProcessGroup {
  private readonly procs: ManagedProcess[] = [];
  private stopping = false;

  constructor(
    private readonly onUnexpectedExit: (
      name: string,
      code: number | null,
      signal: string | null,
    ) => void,
    private readonly out: NodeJS.WritableStream = process.stdout,
  ) {}

  start(name: string, command: string, args: string[], env: NodeJS.ProcessEnv): ManagedProcess {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const tag = `[${name}]`.padEnd(17);
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => this.out.write(`${tag} ${line}\n`));
    }
    child.on('exit', (code, signal) => {
      if (!this.stopping) this.onUnexpectedExit(name, code, signal);
    });
    const p = { name, child };
    this.procs.push(p);
    return p;
  }

  async stopAll(graceMs = 8_000): Promise<void> {
    this.stopping = true;
    const stop = async ({ child }: ManagedProcess) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    };
    // The last started (the gateway) goes first and alone, so that no new work arrives while
    // the others stop; they then stop together.
    const [last, ...rest] = [...this.procs].reverse();
    if (last) await stop(last);
    await Promise.all(rest.map(stop));
  }
}
