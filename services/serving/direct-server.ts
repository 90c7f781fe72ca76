/** The direct port's HTTP server: serving's own handler behind the API token check. */
import { createServer, type Server } from 'node:http';
import type { Logger } from '../../shared/index.js';
import type { ServingApp } from './app.js';
import { directAccess, type TokenResolver } from './protocols/direct-access.js';

export function createDirectServer(
  app: Pick<ServingApp, 'handle'>,
  tokens: TokenResolver,
  log: Logger,
): Server {
  const server = createServer(directAccess(app.handle, tokens, log));
  // As the main port: clients' keep-alive pools must not reuse a socket being closed.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  return server;
}
