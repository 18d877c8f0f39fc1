/**
 * A map of at most `capacity` entries, least recently used out first: the
 * bound of every cache of the WebGPU kernels (program_cache.ts,
 * signature_memo.ts, dispatch.ts's bind groups).
 */
export class LruCache<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new Error(`LruCache: capacity must be >= 1, got ${capacity}.`);
  }

  get size(): number {
    return this.entries.size;
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  /**
   * The value of `key`, made the most recent; on a miss, `create()`'s, stored
   * after the least recently used entry is dropped if the cache is full.
   */
  getOrCreate(key: K, create: () => V): V {
    if (this.entries.has(key)) {
      const value = this.entries.get(key) as V;
      this.entries.delete(key);
      this.entries.set(key, value);
      return value;
    }
    const value = create();
    if (this.entries.size >= this.capacity) {
      this.entries.delete(this.entries.keys().next().value as K);
    }
    this.entries.set(key, value);
    return value;
  }
}
