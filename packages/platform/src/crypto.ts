/**
 * Session-secret crypto: AES-256-GCM envelopes with key ids, so keys can be
 * rotated while old ciphertexts stay readable.
 *
 * Envelope format (ASCII, safe in JSON and MongoDB):
 *   `v1.<kid>.<iv: 12 bytes base64url>.<ciphertext || 16-byte tag, base64url>`
 * The header `v1.<kid>` and the caller's optional `aad` string are bound as
 * GCM additional data: changing the key id, the version, or opening with a
 * different aad fails authentication.
 *
 * Keyring env spec: `kid1:BASE64KEY,kid2:BASE64KEY` (standard or url-safe
 * base64, each key exactly 32 bytes — `openssl rand -base64 32`). Key ids:
 * 1-32 characters of `A-Z a-z 0-9 _ -`. One key is active (used by seal());
 * all keys can open().
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { AppError, ConfigError } from './errors.js';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const KID_RE = /^[A-Za-z0-9_-]{1,32}$/;

/** The envelope names a key id that is not in the keyring. Code `UNKNOWN_KEY_ID`. */
export class UnknownKeyIdError extends AppError {
  readonly keyId: string;
  constructor(keyId: string) {
    super(
      'UNKNOWN_KEY_ID',
      `envelope was sealed with key id "${keyId}", which is not in the keyring`,
      {
        details: { keyId },
      },
    );
    this.keyId = keyId;
  }
}

/**
 * The envelope is malformed, was tampered with, or the aad does not match.
 * Code `DECRYPTION_FAILED`; `reason` is `malformed` or `authentication`.
 */
export class DecryptionError extends AppError {
  readonly reason: 'malformed' | 'authentication';
  constructor(reason: 'malformed' | 'authentication') {
    super(
      'DECRYPTION_FAILED',
      reason === 'malformed'
        ? 'malformed encrypted envelope'
        : 'encrypted envelope failed authentication (tampered or wrong aad)',
      { details: { reason } },
    );
    this.reason = reason;
  }
}

/**
 * Parses a keyring spec without throwing.
 *
 * @returns the keys by id and one problem line per defect (no key material
 *   in any line)
 */
export function parseKeySpec(spec: string): { keys: Map<string, Buffer>; problems: string[] } {
  const keys = new Map<string, Buffer>();
  const problems: string[] = [];
  const entries = spec
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (entries.length === 0)
    problems.push('expected "kid:base64key[,kid:base64key...]", got an empty list');
  entries.forEach((entry, index) => {
    const colon = entry.indexOf(':');
    if (colon <= 0) {
      problems.push(`entry #${index + 1} is not "kid:base64key" (value not shown)`);
      return;
    }
    const kid = entry.slice(0, colon);
    const material = entry.slice(colon + 1);
    if (!KID_RE.test(kid)) {
      problems.push(
        `entry #${index + 1}: key id must be 1-32 characters of A-Z a-z 0-9 _ - (value not shown)`,
      );
      return;
    }
    if (keys.has(kid)) {
      problems.push(`key id "${kid}" appears more than once`);
      return;
    }
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(material)) {
      problems.push(`key "${kid}" is not valid base64 (value not shown)`);
      return;
    }
    const key = Buffer.from(material.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (key.length !== KEY_BYTES) {
      problems.push(
        `key "${kid}" is ${key.length} bytes, expected exactly ${KEY_BYTES} (generate one with: openssl rand -base64 32)`,
      );
      return;
    }
    keys.set(kid, key);
  });
  return { keys, problems };
}

function b64url(buf: Buffer): string {
  return buf.toString('base64url');
}

function aadFor(header: string, aad: string | undefined): Buffer {
  return Buffer.from(aad === undefined ? header : `${header}\u0000${aad}`, 'utf8');
}

/** A set of AES-256 keys by id, one of them active. */
export class Keyring {
  readonly #keys: Map<string, Buffer>;
  /** Key id used by {@link seal}. */
  readonly activeKeyId: string;

  /**
   * @param keys 32-byte keys by id
   * @param activeKeyId must be one of the ids
   * @throws ConfigError when a key is not 32 bytes or the active id is unknown
   */
  constructor(keys: Map<string, Buffer>, activeKeyId: string) {
    const problems: string[] = [];
    for (const [kid, key] of keys) {
      if (!KID_RE.test(kid)) problems.push(`key id "${kid}" is invalid`);
      if (key.length !== KEY_BYTES)
        problems.push(`key "${kid}" is ${key.length} bytes, expected exactly ${KEY_BYTES}`);
    }
    if (!keys.has(activeKeyId))
      problems.push(`active key id "${activeKeyId}" is not in the keyring`);
    if (problems.length > 0) throw new ConfigError(problems);
    this.#keys = new Map(keys);
    this.activeKeyId = activeKeyId;
  }

  /**
   * Builds a keyring from the env spec `kid1:base64,kid2:base64`.
   *
   * @param activeKeyId default: the last key in the spec (append a new key to rotate)
   * @throws ConfigError with lines prefixed `SESSION_ENCRYPTION_KEYS:` /
   *   `SESSION_ENCRYPTION_ACTIVE_KEY_ID:`, never containing key material
   */
  static fromEnv(spec: string | undefined, activeKeyId?: string): Keyring {
    if (spec === undefined || spec.trim() === '') {
      throw new ConfigError([
        'SESSION_ENCRYPTION_KEYS: required but not set (generate a key: openssl rand -base64 32)',
      ]);
    }
    const { keys, problems } = parseKeySpec(spec);
    const lines = problems.map((p) => `SESSION_ENCRYPTION_KEYS: ${p}`);
    const active = activeKeyId || [...keys.keys()].at(-1);
    if (lines.length === 0 && (active === undefined || !keys.has(active))) {
      lines.push(
        `SESSION_ENCRYPTION_ACTIVE_KEY_ID: "${active}" is not one of the key ids (${[...keys.keys()].join(', ')})`,
      );
    }
    if (lines.length > 0) throw new ConfigError(lines);
    return new Keyring(keys, active!);
  }

  /** All key ids, in insertion order. */
  keyIds(): string[] {
    return [...this.#keys.keys()];
  }

  /**
   * Encrypts `plaintext` (UTF-8) with the active key and a random 96-bit IV.
   *
   * @param aad optional context bound to the ciphertext (e.g. the session id);
   *   the same string must be passed to open()
   * @returns `v1.<kid>.<iv>.<ciphertext+tag>`
   */
  seal(plaintext: string, aad?: string): string {
    const key = this.#keys.get(this.activeKeyId)!;
    const header = `${VERSION}.${this.activeKeyId}`;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aadFor(header, aad));
    const body = Buffer.concat([
      cipher.update(plaintext, 'utf8'),
      cipher.final(),
      cipher.getAuthTag(),
    ]);
    return `${header}.${b64url(iv)}.${b64url(body)}`;
  }

  /**
   * Decrypts an envelope made by {@link seal} with any key in the ring.
   *
   * @throws UnknownKeyIdError when the key id is not in the ring
   * @throws DecryptionError when malformed, tampered, or `aad` differs
   */
  open(envelope: string, aad?: string): string {
    const { kid, iv, body } = splitEnvelope(envelope);
    const key = this.#keys.get(kid);
    if (!key) throw new UnknownKeyIdError(kid);
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aadFor(`${VERSION}.${kid}`, aad));
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    try {
      return Buffer.concat([
        decipher.update(body.subarray(0, body.length - TAG_BYTES)),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      throw new DecryptionError('authentication');
    }
  }

  /**
   * True when the envelope was sealed with a key other than the active one.
   *
   * @throws DecryptionError when malformed
   */
  needsRotation(envelope: string): boolean {
    return splitEnvelope(envelope).kid !== this.activeKeyId;
  }

  /**
   * Re-encrypts with the active key when needed.
   *
   * @returns the new envelope, or the same string when already current
   * @throws UnknownKeyIdError / DecryptionError like open()
   */
  reseal(envelope: string, aad?: string): string {
    return this.needsRotation(envelope) ? this.seal(this.open(envelope, aad), aad) : envelope;
  }
}

/** The key id of an envelope (without decrypting). @throws DecryptionError when malformed */
export function keyIdOf(envelope: string): string {
  return splitEnvelope(envelope).kid;
}

function splitEnvelope(envelope: string): { kid: string; iv: Buffer; body: Buffer } {
  const parts = typeof envelope === 'string' ? envelope.split('.') : [];
  if (parts.length !== 4 || parts[0] !== VERSION || !KID_RE.test(parts[1]!))
    throw new DecryptionError('malformed');
  const b64 = /^[A-Za-z0-9_-]+$/;
  if (!b64.test(parts[2]!) || !b64.test(parts[3]!)) throw new DecryptionError('malformed');
  const iv = Buffer.from(parts[2]!, 'base64url');
  const body = Buffer.from(parts[3]!, 'base64url');
  if (iv.length !== IV_BYTES || body.length < TAG_BYTES) throw new DecryptionError('malformed');
  return { kid: parts[1]!, iv, body };
}

/** Outcome of a rotation run. */
export interface RotationReport {
  /** Envelopes looked at. */
  scanned: number;
  /** Envelopes re-encrypted and written. */
  rotated: number;
  /** Envelopes that could not be opened (unknown key id, tampered); left as they are. */
  failed: Array<{ id: string; code: string }>;
}

/**
 * Re-encrypts every envelope that is not sealed with the active key.
 *
 * @param source items to check, e.g. a database cursor mapped to `{id, envelope}`
 * @param write persists the new envelope; receives the old one for a
 *   compare-and-set (return false when the record changed meanwhile: counted
 *   as not rotated, no error)
 * @param opts.aad the aad each item was sealed with (default none)
 * @returns counts; failures are reported, not thrown, so one bad record does
 *   not stop the run. Errors thrown by `write` propagate.
 */
export async function rotate(
  keyring: Keyring,
  source:
    AsyncIterable<{ id: string; envelope: string }> | Iterable<{ id: string; envelope: string }>,
  write: (id: string, envelope: string, previous: string) => Promise<boolean | void>,
  opts: { aad?: (id: string) => string | undefined } = {},
): Promise<RotationReport> {
  const report: RotationReport = { scanned: 0, rotated: 0, failed: [] };
  for await (const { id, envelope } of source) {
    report.scanned++;
    let next: string;
    try {
      if (!keyring.needsRotation(envelope)) continue;
      const aad = opts.aad?.(id);
      next = keyring.seal(keyring.open(envelope, aad), aad);
    } catch (err) {
      report.failed.push({ id, code: err instanceof AppError ? err.code : 'ERROR' });
      continue;
    }
    if ((await write(id, next, envelope)) !== false) report.rotated++;
  }
  return report;
}

/** The subset of a mongoose Model that {@link rotateCollectionField} needs. */
export interface RotatableModel {
  find(filter: Record<string, unknown>): {
    select(fields: Record<string, number>): {
      lean(): { cursor(): AsyncIterable<Record<string, unknown>> };
    };
  };
  updateOne(
    filter: Record<string, unknown>,
    update: Record<string, unknown>,
  ): PromiseLike<{ modifiedCount: number }>;
}

/**
 * Rotates one string field of every document of a mongoose model:
 * documents whose `field` is sealed with a non-active key are re-encrypted
 * and written back with a compare-and-set on the old value (a concurrent
 * writer wins; its value is already current or is rotated next run).
 * Uses only a plain cursor and `updateOne` (works on FerretDB).
 *
 * @param opts.aad derives the aad from the document (e.g. `doc => String(doc._id)`)
 */
export async function rotateCollectionField(
  model: RotatableModel,
  field: string,
  keyring: Keyring,
  opts: { aad?: (doc: Record<string, unknown>) => string | undefined } = {},
): Promise<RotationReport> {
  const docs = new Map<string, Record<string, unknown>>();
  const cursor = model
    .find({ [field]: { $type: 'string' } })
    .select({ _id: 1, [field]: 1 })
    .lean()
    .cursor();
  async function* items(): AsyncIterable<{ id: string; envelope: string }> {
    for await (const doc of cursor) {
      const value = doc[field];
      if (typeof value !== 'string') continue;
      const id = String(doc._id);
      docs.set(id, doc);
      yield { id, envelope: value };
      docs.delete(id); // the consumer has finished with this document
    }
  }
  return rotate(
    keyring,
    items(),
    async (id, envelope, previous) => {
      const doc = docs.get(id)!;
      const res = await model.updateOne(
        { _id: doc._id, [field]: previous },
        { $set: { [field]: envelope } },
      );
      return res.modifiedCount === 1;
    },
    {
      aad: (id) => {
        const doc = docs.get(id);
        return doc && opts.aad ? opts.aad(doc) : undefined;
      },
    },
  );
}
