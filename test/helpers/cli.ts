import { execFile } from 'node:child_process';
import { cliCommand } from '../../shared/index.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real `swarmml` CLI against a gateway. Asynchronous on purpose: the gateway it
 * talks to usually lives in the test's own process, which must keep serving meanwhile.
 */
export function runCli(url: string, token: string, ...args: string[]): Promise<CliResult> {
  const { command, args: base } = cliCommand();
  return new Promise((resolve) => {
    execFile(
      command,
      [...base, '--url', url, '--token', token, ...args],
      { encoding: 'utf8', timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
      },
    );
  });
}
