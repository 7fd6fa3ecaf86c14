/**
 * One process's writes to `delivery_lanes`, one at a time per lane.
 *
 * Why: FerretDB (SQLite and PostgreSQL backends, 1.x) applies an update by
 * reading the document, changing it in the proxy and writing the whole
 * document back, with nothing to stop a second update in between. Two
 * updates of one document at once can therefore lose one of them (of 200
 * concurrent `$inc`s on one document, 7 survived on this machine), and an
 * intake bump landing during a claim could hand the lane back to nobody.
 * Serializing this replica's writes per lane removes those races within a
 * replica; between replicas, claims are decided by a unique insert
 * (see delivery/engine.ts). On MongoDB every update is atomic anyway and the
 * lock only orders writes that never conflicted.
 */
/** Per-lane chains of writes of one process. */
export class LaneLocks {
  readonly #tails = new Map<string, Promise<void>>();

  /**
   * Runs `fn` once every earlier {@link run} on any of `laneIds` has
   * finished; later calls on those lanes wait for it. Taking several lanes
   * at once cannot deadlock: they are all taken in the same tick.
   *
   * @returns what `fn` returns
   * @throws what `fn` throws (the lanes are released either way)
   */
  async run<T>(laneIds: Iterable<string>, fn: () => Promise<T>): Promise<T> {
    const ids = [...new Set(laneIds)];
    const before = ids.map((id) => this.#tails.get(id));
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    for (const id of ids) this.#tails.set(id, mine);
    try {
      await Promise.all(before);
      return await fn();
    } finally {
      release();
      for (const id of ids) if (this.#tails.get(id) === mine) this.#tails.delete(id);
    }
  }
}

const locks = new WeakMap<object, LaneLocks>();

/**
 * The locks belonging to a `delivery_lanes` collection object: a notifier
 * makes one and hands it to intake, engine and API alike, so they share them.
 */
export function laneLocks(lanes: object): LaneLocks {
  let l = locks.get(lanes);
  if (!l) locks.set(lanes, (l = new LaneLocks()));
  return l;
}
