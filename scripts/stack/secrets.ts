import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Secrets of the local stack, generated once and kept in the data dir so state stays readable. */
export interface StackSecrets {
  /** Bootstrap admin API key (gateway `API_SECRET_KEY`). */
  apiSecretKey: string;
  /** `kid:base64` keyring for sealing session strings (`SESSION_ENCRYPTION_KEYS`). */
  sessionEncryptionKeys: string;
  /** Active key id of that keyring. */
  sessionEncryptionActiveKeyId: string;
  /** Seed 000's Bearer token on webhook calls (`WEBHOOK_SECRET_TOKEN`). */
  webhookSecretToken: string;
  /** Standard Webhooks signing secret of the default endpoint (`whsec_…`). */
  webhookSigningSecret: string;
}

/**
 * Loads `<file>` or creates it with fresh random secrets (mode 0600).
 * Throws if the file exists but is not valid JSON.
 */
export function loadOrCreateSecrets(file: string): StackSecrets {
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as StackSecrets;
  const secrets: StackSecrets = {
    apiSecretKey: `tgb_admin_${randomBytes(24).toString('base64url')}`,
    sessionEncryptionKeys: `local1:${randomBytes(32).toString('base64')}`,
    sessionEncryptionActiveKeyId: 'local1',
    webhookSecretToken: randomBytes(24).toString('base64url'),
    webhookSigningSecret: `whsec_${randomBytes(32).toString('base64')}`,
  };
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  return secrets;
}
