/**
 * An HTTP address on the event handler from the WebSocket URL workers are given
 * (ws://host:port/ws): `path` replaces the trailing `/ws`.
 */
export function handlerHttpUrl(handlerWsUrl: string, path: string): string {
  const u = new URL(handlerWsUrl);
  u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
  u.pathname = `${u.pathname.replace(/\/ws\/?$/, '')}${path}`;
  u.search = '';
  return u.toString();
}
