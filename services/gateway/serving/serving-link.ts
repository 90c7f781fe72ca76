/**
 * The gateway's end of the serving link (shared/protocol/serving-link.ts): one upgraded
 * connection per replica carrying every inference request to it as frames, many in flight,
 * the requests of one loop turn in one write.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import {
  BadGateway,
  FrameReader,
  FrameWriter,
  LinkAnswerHead,
  SERVING_LINK_PATH,
  SERVING_LINK_PROTOCOL,
  type LinkRequestHead,
  type Logger,
} from '../../../shared/index.js';

/** A replica's answer over the link, as an HTTP exchange would give it. */
export interface LinkReply {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

export interface LinkAnswer {
  head: LinkAnswerHead;
  body: Buffer;
}

/** No answer within the request's deadline: the replica may be hung (retried elsewhere). */
export const LINK_TIMEOUT = 'LINK_ANSWER_TIMEOUT';
/** Answers are not limited by the gateway's request limit; this only catches a link out of step. */
const MAX_ANSWER_BYTES = 2 ** 31;
const UPGRADE_TIMEOUT_MS = 3_000;

interface Waiting {
  resolve: (a: LinkAnswer) => void;
  reject: (err: Error) => void;
  timer?: NodeJS.Timeout;
}

const closedError = (why: string) => Object.assign(new Error(why), { code: 'ECONNRESET' });

/** One replica's link: open until its connection closes. */
export class ServingLink {
  private readonly waiting = new Map<number, Waiting>();
  private readonly reader = new FrameReader(MAX_ANSWER_BYTES);
  private readonly writer: FrameWriter;
  private nextId = 1;
  private closed = false;

  private constructor(
    private readonly socket: Socket,
    private readonly log: Logger,
    onClose: () => void,
  ) {
    this.writer = new FrameWriter(socket);
    // The upgrade's idle timeout stays on the socket; a link may idle for as long as it likes.
    socket.setTimeout(0);
    socket.setNoDelay(true);
    // A replica on a node that vanished sends no FIN: the keep-alive probes find it gone.
    socket.setKeepAlive(true, 10_000);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => log.debug({ err }, 'serving link error'));
    socket.once('close', () => {
      this.fail(closedError('the serving link closed'));
      onClose();
    });
  }

  /** Upgrades a connection to `origin`'s main port; rejects if the replica answers HTTP. */
  static open(origin: URL, log: Logger, onClose: () => void): Promise<ServingLink> {
    return new Promise((resolve, reject) => {
      const req = http.request({
        host: origin.hostname,
        port: origin.port,
        path: SERVING_LINK_PATH,
        headers: { connection: 'Upgrade', upgrade: SERVING_LINK_PROTOCOL },
        timeout: UPGRADE_TIMEOUT_MS,
        agent: false,
      });
      req.once('upgrade', (res, socket, head) => {
        const link = new ServingLink(socket, log, onClose);
        if (head.length > 0) link.onData(head);
        resolve(link);
      });
      req.once('response', (res) => {
        res.resume();
        reject(Object.assign(new Error(`no serving link: ${res.statusCode}`), { refused: true }));
      });
      req.once('timeout', () => req.destroy(new Error('serving link upgrade timed out')));
      req.once('error', reject);
      req.end();
    });
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /**
   * One request as an HTTP exchange would make it: the body's length declared (the replica
   * checks its limit on it, as over HTTP), and an answer cut off part way a 502.
   */
  async request(
    method: string,
    path: string,
    headers: Record<string, string | string[]>,
    body: Buffer,
    timeoutMs: number,
  ): Promise<LinkReply> {
    const answer = await this.exchange(
      { method, path, headers: { ...headers, 'content-length': String(body.length) } },
      body,
      timeoutMs,
    );
    if (answer.head.status === 0) throw new BadGateway('the serving replica cut its answer off');
    return { status: answer.head.status, headers: answer.head.headers, body: answer.body };
  }

  /** Sends one request; `timeoutMs` 0 waits as long as the link stays open. */
  exchange(head: LinkRequestHead, body: Buffer, timeoutMs: number): Promise<LinkAnswer> {
    if (this.closed) return Promise.reject(closedError('the serving link is closed'));
    const id = this.nextId;
    this.nextId = this.nextId === 0xffffffff ? 1 : this.nextId + 1;
    return new Promise((resolve, reject) => {
      const w: Waiting = { resolve, reject };
      if (timeoutMs > 0) {
        w.timer = setTimeout(() => {
          this.waiting.delete(id);
          reject(
            Object.assign(new Error('no answer on the serving link in time'), {
              code: LINK_TIMEOUT,
            }),
          );
        }, timeoutMs);
      }
      this.waiting.set(id, w);
      this.writer.send(id, head, body);
    });
  }

  close(why = 'the serving link was closed'): void {
    this.fail(closedError(why));
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    let frames;
    try {
      frames = this.reader.push(chunk);
    } catch (err) {
      this.log.warn({ err }, 'serving link out of step: closed');
      this.close('the serving link went out of step');
      return;
    }
    for (const frame of frames) {
      const w = this.waiting.get(frame.id);
      if (!w) continue; // timed out already
      this.waiting.delete(frame.id);
      clearTimeout(w.timer);
      let head: LinkAnswerHead;
      try {
        head = LinkAnswerHead.parse(JSON.parse(frame.head));
      } catch (err) {
        w.reject(new Error(`a bad answer head on the serving link: ${(err as Error).message}`));
        continue;
      }
      w.resolve({ head, body: frame.body });
    }
  }

  private fail(err: Error): void {
    this.closed = true;
    for (const w of this.waiting.values()) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.waiting.clear();
  }
}

/** After a replica answered the upgrade with HTTP (it does not speak the link), ask again after this. */
const REFUSED_RETRY_MS = 60_000;
/** After the upgrade failed to connect, or the link closed, ask again after this. */
const FAILED_RETRY_MS = 1_000;

/**
 * The links to every replica. `ready(origin)` gives the link when it is open; otherwise it
 * starts opening one and the caller goes by HTTP meanwhile, so no request waits on a link.
 */
export class ServingLinks {
  private readonly links = new Map<string, ServingLink>();
  private readonly opening = new Set<string>();
  private readonly notBefore = new Map<string, number>();
  private closed = false;

  constructor(private readonly log: Logger) {}

  ready(origin: URL): ServingLink | undefined {
    const link = this.links.get(origin.origin);
    if (link?.isOpen) return link;
    this.startOpening(origin);
    return undefined;
  }

  /** Drops `origin`'s link (marked down): its waiting requests fail now, to be retried. */
  drop(origin: URL): void {
    const link = this.links.get(origin.origin);
    if (!link) return;
    this.links.delete(origin.origin);
    this.notBefore.set(origin.origin, Date.now() + FAILED_RETRY_MS);
    link.close('serving replica marked down');
  }

  close(): void {
    this.closed = true;
    for (const link of this.links.values()) link.close();
    this.links.clear();
  }

  private startOpening(origin: URL): void {
    const key = origin.origin;
    if (this.closed || this.opening.has(key) || (this.notBefore.get(key) ?? 0) > Date.now()) return;
    this.opening.add(key);
    const onClose = () => {
      if (this.links.get(key)?.isOpen === false) this.links.delete(key);
    };
    ServingLink.open(origin, this.log, onClose).then(
      (link) => {
        this.opening.delete(key);
        if (this.closed) link.close();
        else {
          this.links.set(key, link);
          this.log.debug({ replica: key }, 'serving link open');
        }
      },
      (err: Error & { refused?: boolean }) => {
        this.opening.delete(key);
        this.notBefore.set(key, Date.now() + (err.refused ? REFUSED_RETRY_MS : FAILED_RETRY_MS));
        this.log.debug({ err, replica: key }, 'no serving link: requests go by HTTP');
      },
    );
  }
}
