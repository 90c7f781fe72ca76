import type { Command } from 'commander';
import { Client } from '../client.js';
import { emit, table } from '../output.js';

type Globals = { url?: string; token?: string; json?: boolean };

interface TokenInfo {
  id: string;
  name: string;
  role: string;
  created: string;
  rateLimit: number;
  expires?: string;
}

type CreateOptions = { role: string; rateLimit: string; expiresIn?: string };

/** `swarmml token create|ls|revoke`: API tokens (admin). */
export function registerTokens(program: Command): void {
  const token = program.command('token').description('API tokens and their roles (admin)');
  token
    .command('create <name>')
    .description('create a token; its secret is printed once')
    .option('--role <role>', 'viewer | client | operator | admin', 'client')
    .option('--rate-limit <n>', 'requests per second (0: unlimited)', '0')
    .option('--expires-in <seconds>', 'the token expires this long after now (default: never)')
    .action(async (name: string, o: CreateOptions, cmd: Command) => {
      const g = cmd.optsWithGlobals<Globals>();
      const r = await new Client(g).post<TokenInfo & { token: string }>('/api/v1/tokens', {
        name,
        role: o.role,
        rateLimit: Number(o.rateLimit),
        ...(o.expiresIn === undefined ? {} : { expiresInS: Number(o.expiresIn) }),
      });
      emit(!!g.json, r, () =>
        [
          `created ${r.role} token "${r.name}" (id ${r.id})`,
          r.token,
          ...(r.expires ? [`expires ${r.expires}`] : []),
          'store it now: it is not shown again',
        ].join('\n'),
      );
    });
  token
    .command('ls')
    .description('list tokens (never their secrets)')
    .action(async (_o, cmd: Command) => {
      const g = cmd.optsWithGlobals<Globals>();
      const r = await new Client(g).get<{ tokens: TokenInfo[] }>('/api/v1/tokens');
      emit(!!g.json, r, () =>
        table(
          r.tokens.map((t) => [
            t.id,
            t.name,
            t.role,
            t.rateLimit || 'unlimited',
            t.created.slice(0, 19),
            t.expires?.slice(0, 19) ?? 'never',
          ]),
          ['ID', 'NAME', 'ROLE', 'RATE/S', 'CREATED', 'EXPIRES'],
        ),
      );
    });
  token
    .command('revoke <id>')
    .description('revoke a token at once')
    .action(async (id: string, _o, cmd: Command) => {
      const g = cmd.optsWithGlobals<Globals>();
      await new Client(g).delete(`/api/v1/tokens/${encodeURIComponent(id)}`);
      emit(!!g.json, { revoked: id }, () => `revoked ${id}`);
    });
}
