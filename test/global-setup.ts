/**
 * vitest globalSetup: finds or provisions real NATS JetStream and a
 * MongoDB-wire server once per run (see packages/testinfra), hands their URLs
 * to tests and tears them down afterwards.
 *
 * Tests read the URLs with `inject('natsUrl')` / `inject('mongoUrl')`;
 * child processes spawned by tests inherit `NATS_URL` / `MONGO_URL` (set
 * here, before the test workers fork). Each test file should use its own
 * database (`uniqueDbUrl(inject('mongoUrl'), 'myfile')`) and unique stream /
 * bucket names (`uniqueName('EVENTS')`).
 */
import type { TestProject } from 'vitest/node';
import { startInfra } from '@tgbridge/testinfra';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `nats://127.0.0.1:PORT`, JetStream enabled. */
    natsUrl: string;
    /** `mongodb://127.0.0.1:PORT/` (no database; use uniqueDbUrl). */
    mongoUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const infra = await startInfra();
  process.env.NATS_URL = infra.natsUrl;
  process.env.MONGO_URL = infra.mongoUrl;
  project.provide('natsUrl', infra.natsUrl);
  project.provide('mongoUrl', infra.mongoUrl);
  return async () => {
    await infra.stop();
  };
}
