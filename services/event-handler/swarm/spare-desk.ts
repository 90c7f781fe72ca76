import type http from 'node:http';

/** How long a spare's request is held open before it is answered 204 and asked again. */
const HOLD_MS = 20_000;

/**
 * Where warm spare containers wait for a session (swarm mode). A spare that has loaded its
 * modules asks `GET /spares/<id>/session` and is held there; handing it a session answers that
 * request with the session's environment. A spare is ready exactly while a request of its is
 * held, so the backend never hands a session to one still loading or already gone.
 */
export class SpareDesk {
  private readonly held = new Map<string, { res: http.ServerResponse; timer: NodeJS.Timeout }>();

  constructor(private readonly holdMs = HOLD_MS) {}

  /** Holds spare `id`'s request until a session is handed to it, or holdMs pass (204). */
  wait(id: string, req: http.IncomingMessage, res: http.ServerResponse): void {
    // A spare asks again after a network hiccup: the newer request is the live one.
    this.release(id);
    const timer = setTimeout(() => this.release(id), this.holdMs);
    this.held.set(id, { res, timer });
    req.socket.once('close', () => {
      if (this.held.get(id)?.res === res) this.forget(id);
    });
  }

  isReady(id: string): boolean {
    const h = this.held.get(id);
    return h !== undefined && !h.res.socket?.destroyed;
  }

  /** Answers spare `id` with a session's environment; false when it is not waiting any more. */
  hand(id: string, env: Record<string, string>): boolean {
    const h = this.held.get(id);
    if (!h || h.res.socket?.destroyed) return false;
    this.forget(id);
    h.res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    h.res.end(JSON.stringify({ env }));
    return true;
  }

  /** Answers every held request 204: the spares ask again (a closing handler's successor). */
  close(): void {
    for (const id of [...this.held.keys()]) this.release(id);
  }

  private release(id: string): void {
    const h = this.held.get(id);
    if (!h) return;
    this.forget(id);
    if (!h.res.headersSent) h.res.writeHead(204).end();
  }

  private forget(id: string): void {
    const h = this.held.get(id);
    if (h) clearTimeout(h.timer);
    this.held.delete(id);
  }
}
