import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { prettyFactory } from 'pino-pretty';

/** How to start one process of the local stack. */
export interface ProcessSpec {
  /** Short name used as the log prefix, e.g. `gateway`, `connector-0`. */
  name: string;
  /** Command and arguments, e.g. `['node', '--import', 'tsx', 'services/gateway/src/main.ts']`. */
  command: string[];
  /** Extra environment (merged over the parent's). */
  env?: Record<string, string>;
}

const COLORS = [36, 33, 35, 32, 34, 91, 96, 93, 95];
const pretty = prettyFactory({
  colorize: process.stdout.isTTY,
  translateTime: 'HH:MM:ss',
  ignore: 'pid,hostname,service',
  singleLine: true,
});

/**
 * Runs the local stack's processes: spawns each in its own process group,
 * prefixes every output line with its name (pino JSON lines are pretty-printed),
 * and stops them all (SIGTERM, then SIGKILL after `graceMs`) on {@link stopAll}
 * or when this process exits, so no orphan is left behind.
 */
export class Supervisor {
  private readonly children = new Map<string, ChildProcess>();
  private stopping = false;
  private colorIndex = 0;

  constructor(
    private readonly onUnexpectedExit: (name: string, code: number | null) => void,
    private readonly graceMs = 10_000,
  ) {
    process.on('exit', () => {
      for (const child of this.children.values()) killGroup(child, 'SIGKILL');
    });
  }

  /** Starts a process. Throws if the name is already running. */
  start(spec: ProcessSpec): ChildProcess {
    if (this.children.has(spec.name)) throw new Error(`${spec.name} is already running`);
    const [command, ...args] = spec.command;
    const child = spawn(command!, args, {
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const color = COLORS[this.colorIndex++ % COLORS.length]!;
    const prefix = process.stdout.isTTY
      ? `\u001b[${color}m${spec.name.padEnd(12)}\u001b[0m│ `
      : `${spec.name.padEnd(12)}| `;
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        process.stdout.write(prefix + formatLine(line));
      });
    }
    child.on('exit', (code) => {
      this.children.delete(spec.name);
      if (!this.stopping) this.onUnexpectedExit(spec.name, code);
    });
    this.children.set(spec.name, child);
    return child;
  }

  /** Stops one process (SIGTERM, SIGKILL after the grace period) and waits for it. */
  async stop(name: string): Promise<void> {
    const child = this.children.get(name);
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    killGroup(child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), this.graceMs);
    await exited;
    clearTimeout(timer);
  }

  /** Stops every process, in reverse start order. */
  async stopAll(): Promise<void> {
    this.stopping = true;
    for (const name of [...this.children.keys()].reverse()) await this.stop(name);
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

function formatLine(line: string): string {
  if (line.startsWith('{')) {
    try {
      return pretty(JSON.parse(line) as object);
    } catch {
      // not JSON after all
    }
  }
  return `${line}\n`;
}
