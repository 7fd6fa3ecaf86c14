/**
 * `npm start`: the whole fleet on 127.0.0.1.
 *
 * Starts (or finds) NATS JetStream and a MongoDB-wire server through
 * @tgbridge/testinfra with a persistent data dir, the Telegram emulator (unless
 * real Telegram credentials are configured), auth, two connector shards, the
 * notifier, the gateway and a demo webhook receiver; prints where everything is
 * and a ready API key. Ctrl-C stops everything. State (MongoDB, JetStream, the
 * emulator's accounts and keys, the local secrets) lives in `.data/` (or
 * `TGBRIDGE_DATA_DIR`), so a session logged in before a restart is live again
 * after it.
 *
 * Real Telegram: set TELEGRAM_API_ID and TELEGRAM_API_HASH (and leave
 * TELEGRAM_DC unset); the emulator is then not started.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { startInfra } from '@tgbridge/testinfra';
import { loadOrCreateSecrets } from './stack/secrets.js';
import { Supervisor, type ProcessSpec } from './stack/supervisor.js';
import { stackPorts } from './stack/ports.js';
import { waitForHttp } from './stack/wait.js';

const STACK_PORTS = stackPorts();

const dataDir = resolve(process.env.TGBRIDGE_DATA_DIR ?? '.data');
const realTelegram = Boolean(
  process.env.TELEGRAM_API_ID && process.env.TELEGRAM_API_HASH && !process.env.TELEGRAM_DC,
);
const tsx = (entry: string): string[] => [process.execPath, '--import', 'tsx', entry];

async function main(): Promise<void> {
  const secrets = loadOrCreateSecrets(`${dataDir}/secrets.json`);
  console.log(`tgbridge local stack — data in ${dataDir}`);
  const infra = await startInfra({ dataDir });
  const supervisor = new Supervisor((name, code) => {
    console.error(`\n${name} exited unexpectedly (code ${code}); stopping the stack.`);
    void shutdown(1);
  });

  let stopping = false;
  async function shutdown(code: number): Promise<void> {
    if (stopping) return;
    stopping = true;
    console.log('\nStopping the stack...');
    await supervisor.stopAll();
    await infra.stop();
    process.exit(code);
  }
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  const common: Record<string, string> = {
    NATS_URL: infra.natsUrl,
    MONGO_URL: `${infra.mongoUrl.replace(/\/$/, '')}/tgbridge`,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    SESSION_ENCRYPTION_KEYS: secrets.sessionEncryptionKeys,
    SESSION_ENCRYPTION_ACTIVE_KEY_ID: secrets.sessionEncryptionActiveKeyId,
  };
  const telegram: Record<string, string> = {};

  try {
    if (!realTelegram) {
      const publicKeyFile = `${dataDir}/emulator/public.pem`;
      supervisor.start({
        name: 'emulator',
        command: [
          ...tsx('packages/tg-emulator/src/main.ts'),
          `--port=${STACK_PORTS.emulator}`,
          `--control-port=${STACK_PORTS.emulatorControl}`,
          `--data-dir=${dataDir}/emulator`,
          `--public-key-out=${publicKeyFile}`,
        ],
      });
      await waitForHttp(`http://127.0.0.1:${STACK_PORTS.emulatorControl}/healthz`, 'emulator');
      telegram.TELEGRAM_DC = `127.0.0.1:${STACK_PORTS.emulator}`;
      telegram.TELEGRAM_RSA_PUBLIC_KEY = publicKeyFile;
    } else {
      telegram.TELEGRAM_API_ID = process.env.TELEGRAM_API_ID!;
      telegram.TELEGRAM_API_HASH = process.env.TELEGRAM_API_HASH!;
    }

    const specs: Array<ProcessSpec & { readyUrl: string }> = [
      {
        name: 'auth',
        command: tsx('services/auth/src/main.ts'),
        env: {
          ...common,
          ...telegram,
          GRPC_HOST: '127.0.0.1',
          GRPC_PORT: String(STACK_PORTS.authGrpc),
          METRICS_PORT: String(STACK_PORTS.authMetrics),
        },
        readyUrl: `http://127.0.0.1:${STACK_PORTS.authMetrics}/readyz`,
      },
      ...STACK_PORTS.connectorMetrics.map((metricsPort, i) => ({
        name: `connector-${i}`,
        command: tsx('services/connector/src/main.ts'),
        env: {
          ...common,
          ...telegram,
          SHARD_ID: `connector-${i}`,
          METRICS_PORT: String(metricsPort),
        },
        readyUrl: `http://127.0.0.1:${metricsPort}/readyz`,
      })),
      {
        name: 'notifier',
        command: tsx('services/notifier/src/main.ts'),
        env: {
          ...common,
          METRICS_PORT: String(STACK_PORTS.notifierMetrics),
          LARAVEL_BASE_URL: `http://127.0.0.1:${STACK_PORTS.demoReceiver}`,
          WEBHOOK_SECRET_TOKEN: secrets.webhookSecretToken,
          WEBHOOK_SIGNING_SECRET: secrets.webhookSigningSecret,
          // The demo receiver is plain HTTP on 127.0.0.1; production keeps both off.
          WEBHOOK_ALLOW_HTTP: 'true',
          WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
        },
        readyUrl: `http://127.0.0.1:${STACK_PORTS.notifierMetrics}/readyz`,
      },
      {
        name: 'gateway',
        command: tsx('services/gateway/src/main.ts'),
        env: {
          ...common,
          HTTP_HOST: '127.0.0.1',
          HTTP_PORT: String(STACK_PORTS.gateway),
          API_SECRET_KEY: secrets.apiSecretKey,
          AUTH_GRPC_ADDRESSES: `127.0.0.1:${STACK_PORTS.authGrpc}`,
        },
        readyUrl: `http://127.0.0.1:${STACK_PORTS.gateway}/readyz`,
      },
      {
        name: 'demo-receiver',
        command: tsx('scripts/demo-receiver.ts'),
        env: {
          DEMO_RECEIVER_PORT: String(STACK_PORTS.demoReceiver),
          WEBHOOK_SECRET_TOKEN: secrets.webhookSecretToken,
          WEBHOOK_SIGNING_SECRET: secrets.webhookSigningSecret,
        },
        readyUrl: `http://127.0.0.1:${STACK_PORTS.demoReceiver}/events`,
      },
    ];
    for (const spec of specs) {
      supervisor.start(spec);
      await waitForHttp(spec.readyUrl, spec.name);
    }
  } catch (err) {
    console.error(`\n${(err as Error).message}`);
    await shutdown(1);
    return;
  }

  const info = {
    gatewayUrl: `http://127.0.0.1:${STACK_PORTS.gateway}`,
    apiKey: secrets.apiSecretKey,
    emulatorControlUrl: realTelegram ? null : `http://127.0.0.1:${STACK_PORTS.emulatorControl}`,
    demoReceiverUrl: `http://127.0.0.1:${STACK_PORTS.demoReceiver}`,
    natsUrl: infra.natsUrl,
    mongoUrl: common.MONGO_URL,
  };
  // The demo script (npm run demo) reads this to find the running stack.
  writeFileSync(`${dataDir}/stack.json`, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
  console.log(`
tgbridge is up.
  Gateway        ${info.gatewayUrl}          (OpenAPI UI: ${info.gatewayUrl}/docs)
  API key        ${info.apiKey}
  Emulator       ${info.emulatorControlUrl ?? 'off (real Telegram)'}   (control API)
  Webhooks to    ${info.demoReceiverUrl}/api/webhooks/telegram/{agent_id}  (demo receiver)
  NATS           ${info.natsUrl}        MongoDB ${info.mongoUrl}

Try:  npm run demo        Stop: Ctrl-C
`);
}

if (!existsSync('package.json')) {
  console.error('Run npm start from the repository root.');
  process.exit(1);
}
await main();
