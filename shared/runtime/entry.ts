import { fileURLToPath } from 'node:url';

/**
 * Command line that runs a service's main module as a child process. Works both from the
 * TypeScript sources (under tsx, in tests) and from the built dist/: the entry keeps the
 * extension of this very file and the parent's loader flags (`--import tsx`).
 */
export function serviceCommand(service: string): { command: string; args: string[] } {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  const entry = fileURLToPath(new URL(`../../services/${service}/main${ext}`, import.meta.url));
  return { command: process.execPath, args: [...loaderArgs(), entry] };
}

/** The CLI's entry, for spawning `swarmml` subcommands the same way. */
export function cliCommand(): { command: string; args: string[] } {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  const entry = fileURLToPath(new URL(`../../cli/main${ext}`, import.meta.url));
  return { command: process.execPath, args: [...loaderArgs(), entry] };
}

function loaderArgs(): string[] {
  // Keep only loader flags: inspector or test-runner flags must not leak into children.
  const out: string[] = [];
  const a = process.execArgv;
  for (let i = 0; i < a.length; i++) {
    const f = a[i]!;
    if ((f === '--import' || f === '--loader' || f === '--require') && a[i + 1]) {
      out.push(f, a[i + 1]!);
      i++;
    } else if (/^--(import|loader|require)=/.test(f)) out.push(f);
  }
  return out;
}
