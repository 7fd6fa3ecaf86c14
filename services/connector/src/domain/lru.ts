/** A size-bounded map that evicts the least recently used entry (Map insertion order). */
export class Lru<K, V> {
  private readonly map = new Map<K, V>();

  /** @param max maximum number of entries (≥ 1) */
  constructor(private readonly max: number) {}

  /** The value, marking it most recently used. */
  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  /** Stores a value, evicting the oldest entry beyond `max`. */
  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as K);
  }

  /** Removes a value. */
  delete(key: K): void {
    this.map.delete(key);
  }

  /** Number of entries. */
  get size(): number {
    return this.map.size;
  }
}
