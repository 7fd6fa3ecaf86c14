/**
 * Runs the emulator as its own process (`packages/tg-emulator/src/main.ts`
 * under node + tsx, in memory, no seed users) so that its RSS and CPU time
 * are measured alone, from /proc/<pid>. Optionally with `--cpu-prof`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A running emulator child process. */
export interface EmulatorProcess {
  pid: number;
  port: number;
  controlUrl: string;
  publicKeyPem: string;
  fingerprint: string;
  dcId: number;
  /** Sends SIGTERM and waits for the exit (the CPU profile is written then). */
  stop(): Promise<void>;
}

/** Resident set size of `pid`, bytes (VmRSS). */
export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** User + system CPU time of `pid` so far, seconds. */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[11] = utime, fields[12] = stime (clock ticks; 100 Hz on Linux).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * Starts `main` (default: the emulator's standalone entry point) on random
 * ports in 20000..32767 and waits until it listens.
 * @param cpuProfDir when set, the child runs with `--cpu-prof` into this directory.
 */
export async function startEmulatorProcess(opts: {
  main: string;
  cpuProfDir?: string;
}): Promise<EmulatorProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'emu-bench-'));
  const pemFile = join(dir, 'public.pem');
  const port = 20000 + Math.floor(Math.random() * 12000);
  const controlPort = port + 1 + Math.floor(Math.random() * 700);
  const args = [
    ...(opts.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfDir] : []),
    '--import',
    'tsx',
    opts.main,
    '--port',
    String(port),
    '--control-port',
    String(controlPort),
    '--public-key-out',
    pemFile,
  ];
  const child: ChildProcess = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const out = await new Promise<string>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`emulator did not start:\n${text}`)), 60_000);
    child.stdout!.on('data', (c: Buffer) => {
      text += c.toString();
      if (/-----END PUBLIC KEY-----/.test(text)) {
        clearTimeout(timer);
        resolve(text);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`emulator exited with ${code}:\n${text}`));
    });
  });
  child.stdout!.resume();
  const m = /MTProto on [^:]+:(\d+) \(DC (\d+)\), control API on (\S+)/.exec(out);
  const fp = /RSA fingerprint (-?\d+)/.exec(out);
  if (!m || !fp) throw new Error(`cannot parse emulator banner:\n${out}`);
  return {
    pid: child.pid!,
    port: Number(m[1]),
    dcId: Number(m[2]),
    controlUrl: m[3]!,
    publicKeyPem: readFileSync(pemFile, 'utf8'),
    fingerprint: fp[1]!,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
