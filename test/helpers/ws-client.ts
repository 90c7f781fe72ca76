import WebSocket from 'ws';

/** A test WebSocket client that collects messages and waits on them. */
export class TestWs {
  readonly messages: any[] = [];
  /** Settles when the socket closes: the code, the reason and when (Date.now()). */
  readonly closed: Promise<{ code: number; reason: string; at: number }>;
  private waiters: (() => void)[] = [];
  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => {
      ws.once('close', (code: number, reason: Buffer) =>
        resolve({ code, reason: reason.toString(), at: Date.now() }),
      );
    });
    ws.on('message', (raw: Buffer) => {
      this.messages.push(JSON.parse(raw.toString()));
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async open(url: string, token?: string): Promise<TestWs> {
    const ws = new WebSocket(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    return new TestWs(ws);
  }

  send(m: unknown): void {
    this.ws.send(JSON.stringify(m));
  }

  /** Waits for a message matching `pred` (also among those already received). */
  async next(pred: (m: any) => boolean, timeoutMs = 10_000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.messages.find(pred);
      if (hit) return hit;
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `no matching ws message in ${timeoutMs} ms; got ${JSON.stringify(this.messages.slice(-5))}`,
        );
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async request(m: { id: string } & Record<string, unknown>, timeoutMs = 10_000): Promise<any> {
    this.send(m);
    return this.next((x) => x.op === 'reply' && x.id === m.id, timeoutMs);
  }

  close(): void {
    this.ws.close();
  }
}
