/**
 * The production build (scripts/build.ts, used by the Dockerfile) bundles
 * every service, and each bundle starts with the Dockerfile's command line:
 * it loads all its modules and telemetry, and stops at configuration
 * checking (no environment is given) with the service's own message.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildService, listServices } from '../scripts/build.js';

const root = new URL('..', import.meta.url).pathname;
/** Inside each service folder (so packages resolve as from dist/); `.tmp/` is ignored by git. */
const outDir = (service: string) => join(root, 'services', service, '.tmp', 'build-test');

describe('production build', () => {
  afterAll(() => {
    for (const s of listServices()) rmSync(outDir(s), { recursive: true, force: true });
  });

  for (const service of listServices()) {
    it(`${service}: bundles and starts as in its Docker image`, { timeout: 60_000 }, async () => {
      const files = await buildService(service, outDir(service));
      expect(files.some((f) => f.endsWith('/main.js'))).toBe(true);
      const out = outDir(service);
      const run = spawnSync(
        process.execPath,
        [
          '--enable-source-maps',
          '--import',
          join(out, 'telemetry-register.js'),
          join(out, 'main.js'),
        ],
        { env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8', timeout: 30_000 },
      );
      expect(run.stderr + run.stdout).toContain(`${service}: invalid configuration`);
      expect(run.status).not.toBe(0);
    });
  }
});
