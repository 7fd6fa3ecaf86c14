/**
 * Standalone emulator process (`npm run emulator`).
 *
 * Flags (or env):
 *   --port <n>          MTProto port (TG_EMULATOR_PORT, default 10443; ≤ 32767)
 *   --control-port <n>  control HTTP port (TG_EMULATOR_CONTROL_PORT, default 10444)
 *   --host <addr>       bind address (TG_EMULATOR_HOST, default 127.0.0.1)
 *   --data-dir <dir>    persist state there (TG_EMULATOR_DATA_DIR; default in memory)
 *   --dc-id <n>         DC id (TG_EMULATOR_DC_ID, default 2)
 *   --code-ttl <s>      login code lifetime (TG_EMULATOR_CODE_TTL, default 300)
 *   --qr-ttl <s>        QR token lifetime (TG_EMULATOR_QR_TTL, default 30)
 *   --allow-signup      unknown numbers may sign up (TG_EMULATOR_ALLOW_SIGNUP=1)
 *   --user <phone:First[:username[:password]]>  seed user (repeatable; TG_EMULATOR_USERS, comma separated)
 *   --public-key-out <file>  also write the RSA public key PEM to this file
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startEmulator, type CreateUserInput } from './index.js';

function parseUser(spec: string): CreateUserInput {
  const [phone, firstName, username, password] = spec.split(':');
  if (!phone || !firstName)
    throw new Error(`--user must be phone:First[:username[:password]], got ${spec}`);
  const u: CreateUserInput = { phone, firstName };
  if (username) u.username = username;
  if (password) u.password = password;
  return u;
}

function port(value: string | undefined, fallback: number, name: string): number {
  const n = value === undefined || value === '' ? fallback : Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 32767)
    throw new Error(`${name} must be an integer 0..32767, got ${value}`);
  return n;
}

async function main(): Promise<void> {
  const env = process.env;
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      'control-port': { type: 'string' },
      host: { type: 'string' },
      'data-dir': { type: 'string' },
      'dc-id': { type: 'string' },
      'code-ttl': { type: 'string' },
      'qr-ttl': { type: 'string' },
      'allow-signup': { type: 'boolean' },
      user: { type: 'string', multiple: true },
      'public-key-out': { type: 'string' },
    },
  });
  const users = [
    ...(values.user ?? []),
    ...(env.TG_EMULATOR_USERS ? env.TG_EMULATOR_USERS.split(',') : []),
  ]
    .filter(Boolean)
    .map(parseUser);
  const emu = await startEmulator({
    host: values.host ?? env.TG_EMULATOR_HOST ?? '127.0.0.1',
    port: port(values.port ?? env.TG_EMULATOR_PORT, 10443, '--port'),
    controlPort: port(
      values['control-port'] ?? env.TG_EMULATOR_CONTROL_PORT,
      10444,
      '--control-port',
    ),
    dataDir: values['data-dir'] ?? env.TG_EMULATOR_DATA_DIR ?? undefined,
    dcId: Number(values['dc-id'] ?? env.TG_EMULATOR_DC_ID ?? 2),
    codeTtlSeconds: Number(values['code-ttl'] ?? env.TG_EMULATOR_CODE_TTL ?? 300),
    loginTokenTtlSeconds: Number(values['qr-ttl'] ?? env.TG_EMULATOR_QR_TTL ?? 30),
    signUpAllowed:
      values['allow-signup'] ??
      (env.TG_EMULATOR_ALLOW_SIGNUP === '1' || env.TG_EMULATOR_ALLOW_SIGNUP === 'true'),
    users,
  });
  if (values['public-key-out']) writeFileSync(values['public-key-out'], emu.publicKeyPem);
  console.log(
    `tg-emulator: MTProto on ${emu.host}:${emu.port} (DC ${emu.dcId}), control API on ${emu.controlUrl}`,
  );
  console.log(`TELEGRAM_DC=${emu.host}:${emu.port}/${emu.dcId}`);
  console.log(`RSA fingerprint ${emu.fingerprint}; public key (TELEGRAM_RSA_PUBLIC_KEY):`);
  console.log(emu.publicKeyPem.trim());
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void emu.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((e: unknown) => {
  console.error(`tg-emulator: ${(e as Error).message}`);
  process.exit(1);
});
