import { randomBytes } from 'node:crypto';

function sanitize(prefix: string): string {
  return prefix.replace(/[^A-Za-z0-9_-]/g, '_');
}

/**
 * A name unique to this call, usable as a JetStream stream, consumer or KV
 * bucket name (letters, digits, `_`, `-`): `<prefix>_<time36><random hex>`.
 */
export function uniqueName(prefix: string): string {
  return `${sanitize(prefix)}_${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
}

/**
 * `mongoUrl` with its database replaced by a fresh one named after `prefix`,
 * so every test file works in its own database. Keeps hosts, credentials and
 * query options. Database names are limited to 63 characters.
 *
 * @example uniqueDbUrl('mongodb://127.0.0.1:27017/?x=1', 'sessions')
 *   // 'mongodb://127.0.0.1:27017/sessions_lq3k9a1b2c3d4?x=1'
 */
export function uniqueDbUrl(mongoUrl: string, prefix: string): string {
  const m = /^(mongodb(?:\+srv)?:\/\/[^/?]+)(\/[^?]*)?(\?.*)?$/.exec(mongoUrl);
  if (!m) throw new Error('uniqueDbUrl: not a mongodb:// URL');
  const name = uniqueName(prefix).slice(-63);
  return `${m[1]}/${name}${m[3] ?? ''}`;
}
