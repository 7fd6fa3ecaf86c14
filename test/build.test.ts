/**
 * The production build (scripts/build.ts, used by the Dockerfile) bundles
 * every service, and each bundle starts with its image's command line (the
 * Dockerfile's ENTRYPOINT and NODE_OPTIONS, scripts/docker-command.ts):
 * it loads all its modules and telemetry, and stops at configuration
 * checking (no environment is given) with the service's own message.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildService, listServices } from '../scripts/build.js';
import { dockerCommand } from '../scripts/docker-command.js';

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
      const image = dockerCommand(service, out);
      expect(image.args.at(-1)).toBe(join(out, 'main.js'));
      const run = spawnSync(process.execPath, image.args, {
        env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: image.nodeOptions },
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(run.stderr + run.stdout).toContain(`${service}: invalid configuration`);
      expect(run.status).not.toBe(0);
    });
  }
});
