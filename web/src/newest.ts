/**
 * Loads on a page overlap (a live refresh, a filter change, a button), and answers can come
 * back in any order; an older one arriving last would overwrite the newer view. Each load
 * takes a ticket and shows its answer only while its ticket is still the newest.
 */
export class NewestOnly {
  private seq = 0;

  /** starts a load; the function answers whether it is still the newest one */
  begin(): () => boolean {
    const mine = ++this.seq;
    return () => mine === this.seq;
  }
}
