import { createHash } from 'node:crypto';
import { toChunks, type ByteSource } from './parse/source.js';

export interface HashingSource {
  /** The upload's bytes, unchanged. */
  chunks: AsyncGenerator<Buffer>;
  /**
   * hex sha256 of every byte, once the parser has read to the end; undefined when it stopped
   * early (an archive read to its end marker), since a hash of a prefix names nothing.
   */
  sha256(): string | undefined;
}

/** Hashes an upload as the parser reads it: no second pass, no copy. */
export function hashingSource(body: ByteSource): HashingSource {
  const hash = createHash('sha256');
  let digest: string | undefined;
  async function* chunks(): AsyncGenerator<Buffer> {
    for await (const c of toChunks(body)) {
      hash.update(c);
      yield c;
    }
    digest = hash.digest('hex');
  }
  return { chunks: chunks(), sha256: () => digest };
}
