/**
 * API keys (collection `api_keys`): tenant-scoped, random, shown once at
 * creation and stored only as a SHA-256 hash (keys carry 256 bits of
 * entropy, so a fast hash is enough). Format: `tgb_<keyId>_<secret>` where
 * `keyId` locates the record and `secret` is 43 base64url characters.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Schema, type Connection, type Model } from 'mongoose';

/** Stored form of an API key. */
export interface ApiKeyDoc {
  /** Key id (`k` + 16 hex), also embedded in the key text. */
  _id: string;
  tenantId: string;
  /** Free-text label given at creation. */
  name: string;
  /** hex SHA-256 of the full key text. */
  hash: string;
  createdAt: Date;
  lastUsedAt?: Date;
  revokedAt?: Date;
}

const apiKeySchema = new Schema<ApiKeyDoc>(
  {
    _id: { type: String, required: true },
    tenantId: { type: String, required: true },
    name: { type: String, default: '' },
    hash: { type: String, required: true },
    createdAt: { type: Date, required: true },
    lastUsedAt: Date,
    revokedAt: Date,
  },
  { collection: 'api_keys', versionKey: false },
);
apiKeySchema.index({ tenantId: 1 });

/** The ApiKey model bound to a connection. */
export function apiKeyModel(conn: Connection): Model<ApiKeyDoc> {
  return (
    (conn.models.ApiKey as Model<ApiKeyDoc> | undefined) ??
    conn.model<ApiKeyDoc>('ApiKey', apiKeySchema)
  );
}

/** hex SHA-256 of a key. */
export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Constant-time comparison of two keys (compares their SHA-256 digests). */
export function keysEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db);
}

const KEY_RE = /^tgb_(k[0-9a-f]{16})_[A-Za-z0-9_-]{43}$/;

/** The key id embedded in a key's text, or undefined when it is not a tgbridge key. */
export function keyIdOf(key: string): string | undefined {
  return KEY_RE.exec(key)?.[1];
}

/** Public view of a key (never the hash or the key). */
export interface ApiKeyInfo {
  id: string;
  tenant_id: string;
  name: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

/** Public view of a stored key. */
export function keyInfo(doc: ApiKeyDoc): ApiKeyInfo {
  return {
    id: doc._id,
    tenant_id: doc.tenantId,
    name: doc.name,
    created_at: doc.createdAt.toISOString(),
    last_used_at: doc.lastUsedAt ? doc.lastUsedAt.toISOString() : null,
    revoked_at: doc.revokedAt ? doc.revokedAt.toISOString() : null,
  };
}

/** Creates a key for `tenantId`. @returns the stored record and the key text (show it once). */
export async function createApiKey(
  model: Model<ApiKeyDoc>,
  tenantId: string,
  name: string,
): Promise<{ doc: ApiKeyDoc; key: string }> {
  const id = `k${randomBytes(8).toString('hex')}`;
  const key = `tgb_${id}_${randomBytes(32).toString('base64url')}`;
  const doc: ApiKeyDoc = { _id: id, tenantId, name, hash: hashKey(key), createdAt: new Date() };
  await model.create(doc);
  return { doc, key };
}

/** How often `last_used_at` is written per key, at most (ms). */
const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * Finds the live (not revoked) key matching `key`, comparing hashes in
 * constant time, and refreshes `last_used_at` (at most once a minute).
 *
 * @returns the record, or undefined when unknown, revoked or wrong
 */
export async function verifyApiKey(
  model: Model<ApiKeyDoc>,
  key: string,
): Promise<ApiKeyDoc | undefined> {
  const id = keyIdOf(key);
  if (!id) return undefined;
  const doc = await model.findById(id).lean<ApiKeyDoc>().exec();
  if (!doc || doc.revokedAt) return undefined;
  const presented = Buffer.from(hashKey(key), 'hex');
  const stored = Buffer.from(doc.hash, 'hex');
  if (stored.length !== presented.length || !timingSafeEqual(stored, presented)) return undefined;
  const now = new Date();
  if (!doc.lastUsedAt || now.getTime() - doc.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
    await model
      .updateOne({ _id: id }, { $set: { lastUsedAt: now } })
      .exec()
      .catch(() => undefined);
    doc.lastUsedAt = now;
  }
  return doc;
}
