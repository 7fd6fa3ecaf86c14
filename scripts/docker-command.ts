/**
 * A service's start command as its Docker image runs it, read from the
 * Dockerfile (the `FROM runtime AS <service>` stage): the node arguments of
 * its ENTRYPOINT (after `tini --` and `node`) and the stage's NODE_OPTIONS.
 * The build test and the notifier benchmark start bundles this way, so what
 * they run is what the image runs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;

/** Node's arguments and NODE_OPTIONS of a service's image. */
export interface DockerCommand {
  /** Arguments after `node`, with `/app/services/<service>/dist` replaced by `distDir`. */
  args: string[];
  /** The stage's `ENV NODE_OPTIONS=…` ('' when it sets none). */
  nodeOptions: string;
}

/**
 * Reads `service`'s image command from `dockerfile` (default: the
 * repository's Dockerfile).
 *
 * @param distDir where the bundle was built (scripts/build.ts)
 * @throws Error when the Dockerfile has no such stage, or its ENTRYPOINT is
 *   not a JSON array that runs `node`
 */
export function dockerCommand(
  service: string,
  distDir: string,
  dockerfile = join(ROOT, 'Dockerfile'),
): DockerCommand {
  const lines = readFileSync(dockerfile, 'utf8').split('\n');
  const start = lines.findIndex((l) =>
    new RegExp(`^FROM\\s+\\S+\\s+AS\\s+${service}\\s*$`, 'i').test(l),
  );
  if (start < 0) throw new Error(`Dockerfile: no stage named ${service}`);
  const end = lines.findIndex((l, i) => i > start && /^FROM\s/i.test(l));
  const stage = lines.slice(start + 1, end < 0 ? undefined : end);
  const entry = stage.find((l) => /^ENTRYPOINT\s/i.test(l));
  const argv = entry ? (JSON.parse(entry.replace(/^ENTRYPOINT\s+/i, '')) as unknown) : undefined;
  const node = Array.isArray(argv) ? argv.indexOf('node') : -1;
  if (!Array.isArray(argv) || node < 0)
    throw new Error(`Dockerfile: the ${service} stage's ENTRYPOINT does not run node`);
  const dist = `/app/services/${service}/dist`;
  const args = (argv.slice(node + 1) as string[]).map((a) =>
    a.startsWith(dist) ? distDir + a.slice(dist.length) : a,
  );
  const env = stage.find((l) => /^ENV\s+NODE_OPTIONS=/i.test(l));
  return {
    args,
    nodeOptions: env ? env.replace(/^ENV\s+NODE_OPTIONS=/i, '').replace(/^"|"$/g, '') : '',
  };
}
