import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import zlib from 'node:zlib';
import type { Request, RequestHandler, Response } from 'express';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};
/** esbuild's content hash in a name (`app-7QWJ2K4B.js`): such a file never changes. */
const HASHED = /-[A-Z0-9]{8}\.(js|css)(\.map)?$/;
const COMPRESSIBLE = /\.(html|js|css|map|txt|json|svg)$/;
const YEAR_S = 365 * 24 * 3600;

interface StaticFile {
  type: string;
  etag: string;
  cacheControl: string;
  identity: Buffer;
  gzip?: Buffer;
  br?: Buffer;
}

/**
 * The built dashboard, read once and compressed once (brotli and gzip, at their best levels:
 * the bundle is small and built rarely). Hashed names are cached for a year, index.html is
 * revalidated by ETag every time, so a new build is picked up at the next load.
 */
export function loadStaticFiles(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (!statSync(path).isFile()) continue;
    const identity = readFileSync(path);
    const f: StaticFile = {
      type: TYPES[extname(name)] ?? 'application/octet-stream',
      etag: `"${createHash('sha256').update(identity).digest('base64url').slice(0, 22)}"`,
      cacheControl: HASHED.test(name) ? `public, max-age=${YEAR_S}, immutable` : 'no-cache',
      identity,
    };
    if (COMPRESSIBLE.test(name) && identity.length > 1024) {
      f.gzip = zlib.gzipSync(identity, { level: 9 });
      f.br = zlib.brotliCompressSync(identity, {
        params: {
          [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
          [zlib.constants.BROTLI_PARAM_SIZE_HINT]: identity.length,
        },
      });
    }
    files.set(`/${name}`, f);
  }
  return files;
}

/** Picks the smallest coding the client accepts (q=0 refuses one). */
function pickCoding(req: Request, f: StaticFile): 'br' | 'gzip' | 'identity' {
  const accept = String(req.headers['accept-encoding'] ?? '').toLowerCase();
  const ok = (c: string) =>
    accept.split(',').some((part) => {
      const [name, ...params] = part.trim().split(';');
      if (name !== c) return false;
      return !params.some((p) => /^\s*q=0(\.0*)?\s*$/.test(p));
    });
  if (f.br && ok('br')) return 'br';
  if (f.gzip && ok('gzip')) return 'gzip';
  return 'identity';
}

export function staticHandler(
  files: Map<string, StaticFile>,
  headers: Record<string, string>,
): RequestHandler {
  return (req: Request, res: Response, next) => {
    const f = files.get(req.path === '/' ? '/index.html' : req.path);
    if (!f) return next();
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    res.setHeader('content-type', f.type);
    res.setHeader('cache-control', f.cacheControl);
    res.setHeader('etag', f.etag);
    res.setHeader('vary', 'Accept-Encoding');
    if (req.headers['if-none-match'] === f.etag) {
      res.status(304).end();
      return;
    }
    const coding = pickCoding(req, f);
    const body = coding === 'br' ? f.br! : coding === 'gzip' ? f.gzip! : f.identity;
    if (coding !== 'identity') res.setHeader('content-encoding', coding);
    res.setHeader('content-length', body.length);
    if (req.method === 'HEAD') res.end();
    else res.end(body);
  };
}
