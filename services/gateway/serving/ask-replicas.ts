/** One serving replica's answer to a GET, or why there is none. */
export type ReplicaAnswer<T> =
  { url: string; ok: true; value: T } | { url: string; ok: false; error: string };

/**
 * Sends the same GET to every serving replica at once (`timeoutMs` each). Answers come in
 * address order, whichever replica answered first, so that listings and sums built from
 * them are the same from one call to the next; a replica that fails is reported, not thrown.
 */
export async function askReplicas<T>(
  replicas: URL[],
  path: string,
  read: (res: Response) => Promise<T>,
  timeoutMs = 1_000,
): Promise<ReplicaAnswer<T>[]> {
  const answers = await Promise.all(
    replicas.map(async (base): Promise<ReplicaAnswer<T>> => {
      try {
        const res = await fetch(new URL(path, base), { signal: AbortSignal.timeout(timeoutMs) });
        if (!res.ok) {
          await res.body?.cancel();
          return { url: base.origin, ok: false, error: `answered ${res.status}` };
        }
        return { url: base.origin, ok: true, value: await read(res) };
      } catch (err) {
        return { url: base.origin, ok: false, error: (err as Error).message };
      }
    }),
  );
  return answers.sort((a, b) => a.url.localeCompare(b.url));
}
