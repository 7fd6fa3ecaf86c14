import { spawn, type ChildProcess } from 'node:child_process';

/** A server process started by testinfra, with its guard. */
export interface ManagedProcess {
  /** OS process id of the server. */
  readonly pid: number;
  /** Resolves with the exit code (or null when killed by a signal) once the process is gone. */
  readonly exited: Promise<number | null>;
  /** True once the process has exited. */
  readonly hasExited: () => boolean;
  /** The last lines the process wrote to stdout/stderr (for error messages). */
  readonly output: () => string;
  /**
   * Stops the process: SIGTERM, then SIGKILL once `graceMs` (default 5000)
   * has passed. Resolves when the process is gone. Idempotent.
   */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Normal exit of the parent (including process.exit()): kill what is left.
  // Abnormal death (SIGKILL, crash) is covered by the per-process watchdog.
  process.on('exit', () => {
    for (const child of live) {
      try {
        child.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
  });
}

/**
 * A tiny `sh` watchdog holding the read end of a pipe from this process. When
 * this process dies for any reason the pipe closes, `cat` returns, and the
 * watchdog sends SIGTERM (then SIGKILL after 5 s) to the server. On a normal
 * stop() the watchdog is killed first, so it never signals a reused pid.
 * It also removes `removeDir` (the server's temp store) in that case.
 */
function spawnWatchdog(pid: number, removeDir: string | undefined): ChildProcess {
  const script =
    'cat >/dev/null; ' +
    'if kill -TERM "$1" 2>/dev/null; then i=0; ' +
    'while [ $i -lt 50 ] && kill -0 "$1" 2>/dev/null; do sleep 0.1; i=$((i+1)); done; ' +
    'kill -KILL "$1" 2>/dev/null; sleep 0.2; fi; ' +
    'if [ -n "$2" ]; then rm -rf "$2"; fi; exit 0';
  const dog = spawn('sh', ['-c', script, 'tgbridge-watchdog', String(pid), removeDir ?? ''], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true, // its own process group: a Ctrl-C to ours must not kill it before it acts
  });
  dog.unref();
  (dog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  dog.on('error', () => {});
  return dog;
}

/**
 * Spawns a long-running server process that cannot outlive this process.
 *
 * @param command executable path
 * @param args arguments
 * @param opts.env extra environment
 * @param opts.cwd working directory
 * @param opts.removeOnOrphan temp dir the watchdog deletes if this process dies without stop()
 * @throws Error when the executable cannot be spawned
 */
export async function spawnManaged(
  command: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; removeOnOrphan?: string } = {},
): Promise<ManagedProcess> {
  installExitHook();
  const child = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
    cwd: opts.cwd,
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', reject);
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${command}`);
  live.add(child);

  const lines: string[] = [];
  const keep = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      lines.push(line);
      if (lines.length > 40) lines.shift();
    }
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  // Do not keep the event loop alive just for a server: the exit hook and the
  // watchdog take care of it if stop() is never called.
  child.unref();
  (child.stdout as unknown as { unref?: () => void } | null)?.unref?.();
  (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();

  let done = false;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      done = true;
      live.delete(child);
      resolve(code);
    });
  });
  const dog = spawnWatchdog(pid, opts.removeOnOrphan);

  let stopping: Promise<void> | undefined;
  return {
    pid,
    exited,
    hasExited: () => done,
    output: () => lines.join('\n'),
    stop(graceMs = 5000): Promise<void> {
      stopping ??= (async () => {
        dog.kill('SIGKILL');
        if (done) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

/**
 * Runs a command to completion and returns its stdout. Used for
 * `--version` probes and builds.
 *
 * @param onLine called for every stderr/stdout line (progress output)
 * @throws Error with the command line and its last output when it exits non-zero
 */
export async function run(
  command: string,
  args: string[],
  opts: {
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    timeoutMs?: number;
    onLine?: (line: string) => void;
  } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...opts.env },
      cwd: opts.cwd,
    });
    let stdout = '';
    let tail = '';
    const onChunk = (isStdout: boolean) => (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      if (isStdout) stdout += text;
      tail = (tail + text).slice(-2000);
      if (opts.onLine) for (const line of text.split('\n')) if (line.trim()) opts.onLine(line);
    };
    child.stdout.on('data', onChunk(true));
    child.stderr.on('data', onChunk(false));
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else
        reject(
          new Error(
            `\`${[command, ...args].join(' ')}\` failed (${signal ?? `exit ${code}`}):\n${tail.trim()}`,
          ),
        );
    });
  });
}

/** True when a process with this pid exists (signal 0 probe). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
