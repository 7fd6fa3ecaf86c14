import type { AuthKeyRecord } from './rpc.js';

/**
 * The emulator's table of permanent auth keys, keyed by auth_key_id.
 * The MTProto layer adds keys after a DH exchange and looks them up for every
 * encrypted message; the API layer binds users to keys (login), deletes keys
 * (logOut, revocation) and persists the table with `--data-dir`.
 */
export class AuthKeyStore {
  private readonly keys = new Map<string, AuthKeyRecord>();
  private readonly listeners = new Set<() => void>();

  get(id: string): AuthKeyRecord | undefined {
    return this.keys.get(id);
  }

  /** Adds or replaces a key record. */
  add(record: AuthKeyRecord): void {
    this.keys.set(record.id, record);
    this.changed();
  }

  /** Removes a key; the next message with it gets transport error -404. Returns whether it existed. */
  delete(id: string): boolean {
    const existed = this.keys.delete(id);
    if (existed) this.changed();
    return existed;
  }

  /** Every key, in insertion order. */
  all(): AuthKeyRecord[] {
    return [...this.keys.values()];
  }

  /** Keys logged in as `userId`. */
  ofUser(userId: number): AuthKeyRecord[] {
    return this.all().filter((k) => k.userId === userId);
  }

  /** Call after mutating a record in place (userId, layer, client), so persistence sees it. */
  changed(): void {
    for (const listener of this.listeners) listener();
  }

  /** Registers a change listener (used by persistence). Returns an unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** JSON-safe snapshot (keys base64). */
  toJSON(): Array<Omit<AuthKeyRecord, 'key'> & { key: string }> {
    return this.all().map((k) => ({ ...k, key: k.key.toString('base64') }));
  }

  /** Restores a snapshot made by {@link toJSON}. */
  static fromJSON(rows: Array<Omit<AuthKeyRecord, 'key'> & { key: string }>): AuthKeyStore {
    const store = new AuthKeyStore();
    for (const row of rows) store.keys.set(row.id, { ...row, key: Buffer.from(row.key, 'base64') });
    return store;
  }
}
