/** The local-mode demo: filled in as the platform grows (push, train, promote, predict). */
export async function runDemo(target: { url: string; token: string }): Promise<void> {
  const res = await fetch(`${target.url}/readyz`);
  process.stdout.write(`[demo]            gateway ${res.ok ? 'ready' : 'not ready'}\n`);
}
