/**
 * kustomize, pinned, built once with Go into `~/.cache/tgbridge/bin` (the
 * same cache the test infrastructure uses for nats-server and FerretDB).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

/** The pinned kustomize release. */
export const KUSTOMIZE_VERSION = 'v5.7.1';
const MODULE = 'sigs.k8s.io/kustomize/kustomize/v5';

/** Where the binary is cached (override the directory with TGBRIDGE_CACHE_DIR, as packages/testinfra does). */
export function kustomizePath(): string {
  const dir = process.env.TGBRIDGE_CACHE_DIR || join(homedir(), '.cache/tgbridge/bin');
  return join(dir, `kustomize-${KUSTOMIZE_VERSION}`);
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): void {
  execFileSync(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
}

function stderrOf(err: unknown): string {
  const e = err as { stderr?: Buffer; message?: string };
  return (e.stderr?.toString() || e.message || String(err)).trim().split('\n').slice(-5).join('\n');
}

/**
 * Returns the path of the pinned kustomize, building it first when the cache
 * lacks it: `go install <module>@<version>`, and when that fails (some
 * proxies answer the module-list lookup with 403) `go build` inside a
 * temporary module.
 * @throws Error naming the exact commands to run when Go is missing or both builds fail
 */
export function ensureKustomize(): string {
  const target = kustomizePath();
  if (existsSync(target)) return target;
  const binDir = join(target, '..');
  mkdirSync(binDir, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'tgbridge-kustomize-'));
  const manual =
    `GOBIN=${work} go install ${MODULE}@${KUSTOMIZE_VERSION} && mv ${work}/kustomize ${target}\n` +
    `or: cd $(mktemp -d) && go mod init x && go get ${MODULE}@${KUSTOMIZE_VERSION} && go build -o ${target} ${MODULE}`;
  try {
    try {
      execFileSync('go', ['version'], { stdio: 'ignore' });
    } catch {
      throw new Error(
        `Go is needed to build kustomize ${KUSTOMIZE_VERSION} once; install Go >= 1.22, or run:\n${manual}`,
      );
    }
    try {
      run('go', ['install', `${MODULE}@${KUSTOMIZE_VERSION}`], work, {
        ...process.env,
        GOBIN: work,
        GOFLAGS: '-buildvcs=false',
      });
      renameSync(join(work, 'kustomize'), `${target}.tmp`);
    } catch (first) {
      try {
        run('go', ['mod', 'init', 'tgbridge.local/kustomize'], work);
        run('go', ['get', `${MODULE}@${KUSTOMIZE_VERSION}`], work);
        run('go', ['build', '-buildvcs=false', '-o', `${target}.tmp`, MODULE], work);
      } catch (second) {
        throw new Error(
          `could not build kustomize ${KUSTOMIZE_VERSION}:\n${stderrOf(first)}\n${stderrOf(second)}\nRun by hand:\n${manual}`,
        );
      }
    }
    renameSync(`${target}.tmp`, target);
    return target;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * `kustomize build <dir>`.
 * @returns the rendered multi-document YAML
 * @throws Error with kustomize's message when the build fails
 */
export function kustomizeBuild(dir: string): string {
  try {
    return execFileSync(ensureKustomize(), ['build', dir], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    throw new Error(`kustomize build ${dir} failed: ${stderrOf(err)}`);
  }
}
