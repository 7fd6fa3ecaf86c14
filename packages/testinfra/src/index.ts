/**
 * @tgbridge/testinfra — finds or provisions real NATS JetStream and a
 * MongoDB-wire server for integration tests (vitest globalSetup) and the
 * local stack. See README section "Tests" and packages/testinfra/README.md.
 */
export { startInfra, type Infra, type InfraOptions } from './infra.js';
export { startNats, waitForNats } from './nats-server.js';
export { startMongo, waitForMongo } from './mongo-server.js';
export { uniqueDbUrl, uniqueName } from './names.js';
export { freePort } from './ports.js';
export { pidAlive } from './process.js';
export {
  binDir,
  ferretBuildCommands,
  findMongoServer,
  findNatsServer,
  natsInstallCommand,
  FERRETDB_VERSION,
  NATS_SERVER_VERSION,
} from './binaries.js';
export { dockerReachable } from './docker.js';
export type { ServerHandle, StartOptions } from './types.js';
