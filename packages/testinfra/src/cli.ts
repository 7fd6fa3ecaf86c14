/**
 * Command line for CI and humans:
 *
 *   tsx packages/testinfra/src/cli.ts provision   # find or build nats-server and FerretDB/mongod, print paths
 *   tsx packages/testinfra/src/cli.ts start [--data-dir DIR]
 *                                                 # start both servers, print NATS_URL/MONGO_URL, stop on Ctrl-C
 *
 * Exit code 1 with the error text (which names the command to run) when
 * something cannot be provisioned.
 */
import { findMongoServer, findNatsServer } from './binaries.js';
import { startInfra } from './infra.js';

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === 'provision') {
    const [nats, mongo] = await Promise.all([findNatsServer(), findMongoServer()]);
    if (!nats)
      throw new Error('no nats-server could be found or built (run `start` for the full message)');
    if (!mongo)
      throw new Error(
        'no mongod/FerretDB could be found or built (run `start` for the full message)',
      );
    console.log(`nats-server ${nats.version.join('.')}: ${nats.path} (${nats.source})`);
    console.log(`${mongo.kind}: ${mongo.path} (${mongo.source})`);
    return;
  }
  if (command === 'start') {
    const i = rest.indexOf('--data-dir');
    const dataDir = i >= 0 ? rest[i + 1] : undefined;
    const infra = await startInfra({ reuseEnv: false, dataDir });
    console.log(`NATS_URL=${infra.natsUrl}`);
    console.log(`MONGO_URL=${infra.mongoUrl}`);
    const stop = (): void => {
      void infra.stop().then(() => process.exit(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    setInterval(() => {}, 1 << 30);
    return;
  }
  console.error('usage: cli.ts provision | start [--data-dir DIR]');
  process.exit(2);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
