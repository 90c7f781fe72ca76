// Docker HEALTHCHECK for every swarmml service: healthy when GET /healthz answers 2xx within 2 s.
// The slim node image has no curl, so this uses node's own fetch.
const url = process.env.HEALTH_URL || `http://127.0.0.1:${process.env.PORT || '8080'}/healthz`;
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  process.exit(res.ok ? 0 : 1);
} catch {
  process.exit(1);
}
