/**
 * Standard Webhooks signing (github.com/standard-webhooks/standard-webhooks,
 * spec.md "Signature scheme"): `webhook-id`, `webhook-timestamp` (unix
 * seconds of this attempt) and `webhook-signature` = space-separated
 * `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>` over the exact
 * bytes sent, one entry per active secret (two during a rotation grace).
 * Uses the official `standardwebhooks` package.
 */
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/** Secret prefix of the Standard Webhooks format (`whsec_` + base64 key). */
export const SECRET_PREFIX = 'whsec_';

/** A new secret: `whsec_` + base64 of 24 random bytes (spec: 24..64 bytes). */
export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(24).toString('base64');
}

/** True when `s` is a well-formed `whsec_` secret with a 24..64-byte key. */
export function isValidSecret(s: string): boolean {
  const m = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(s);
  if (!m) return false;
  const n = Buffer.from(m[1]!, 'base64').length;
  return n >= 24 && n <= 64;
}

/** The three Standard Webhooks headers of one attempt. */
export interface SignatureHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  /** Absent when the endpoint has no secret (the default endpoint without WEBHOOK_SIGNING_SECRET). */
  'webhook-signature'?: string;
}

const cache = new Map<string, Webhook>();

function signer(secret: string): Webhook {
  let w = cache.get(secret);
  if (!w) {
    w = new Webhook(secret);
    if (cache.size > 1000) cache.clear();
    cache.set(secret, w);
  }
  return w;
}

/**
 * Signs `body` for message `id` at `at` with every secret.
 *
 * @param secrets `whsec_...` secrets, newest first (each adds one `v1,` entry)
 * @returns headers to send; `webhook-signature` omitted when `secrets` is empty
 */
export function signatureHeaders(
  id: string,
  at: Date,
  body: string,
  secrets: readonly string[],
): SignatureHeaders {
  const ts = Math.floor(at.getTime() / 1000);
  const headers: SignatureHeaders = { 'webhook-id': id, 'webhook-timestamp': String(ts) };
  if (secrets.length > 0) {
    const when = new Date(ts * 1000);
    headers['webhook-signature'] = secrets.map((s) => signer(s).sign(id, when, body)).join(' ');
  }
  return headers;
}
