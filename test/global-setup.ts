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
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { EVENTS_STREAM, EVENT_SUBJECT_PREFIX } from '@tgbridge/proto/subjects';
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
  // The production event stream, created before any test file runs: streams
  // on one server may not overlap, so files that need tg.evt.> share this one
  // (with unique tenants) instead of racing to create their own.
  const nc = await connect({ servers: infra.natsUrl });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({
    name: EVENTS_STREAM,
    subjects: [`${EVENT_SUBJECT_PREFIX}.>`],
    duplicate_window: 15 * 60 * 1e9,
    max_age: 7 * 24 * 3600 * 1e9,
  });
  await nc.close();
  return async () => {
    await infra.stop();
  };
}
