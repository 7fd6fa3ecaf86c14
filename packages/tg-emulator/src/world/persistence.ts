/**
 * Snapshot persistence for `--data-dir`: one JSON file (`state.json`) with
 * the world, the auth keys and login flags, written debounced and atomically
 * (write to a temp file, then rename). The RSA key lives beside it
 * (`rsa-private.pem`, managed by the MTProto layer's loadOrCreateRsaKeyPair).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { WorldSnapshot } from './world.js';
import type { AuthKeyRecord } from '../rpc.js';

/** Everything persisted besides the RSA key. */
export interface StateFile {
  version: 1;
  /** Unix ms of the write. */
  savedAt: number;
  world: WorldSnapshot;
  authKeys: Array<Omit<AuthKeyRecord, 'key'> & { key: string }>;
  login: { bannedPhones: string[]; revokedKeys: Array<[string, string]>; signUpAllowed: boolean };
}

/** Reads `state.json` from `dataDir`, or undefined when absent. Throws on a corrupt file. */
export function loadState(dataDir: string): StateFile | undefined {
  const path = join(dataDir, 'state.json');
  if (!existsSync(path)) return undefined;
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as StateFile;
  if (parsed.version !== 1) throw new Error(`unsupported state version in ${path}`);
  return parsed;
}

/** Debounced atomic writer of `state.json`. */
export class SnapshotWriter {
  private timer: NodeJS.Timeout | undefined;
  private readonly path: string;

  /**
   * @param dataDir directory (created if missing)
   * @param build produces the snapshot to write
   * @param debounceMs delay after the last change before writing (default 200 ms)
   */
  constructor(
    dataDir: string,
    private readonly build: () => StateFile,
    private readonly debounceMs = 200,
  ) {
    mkdirSync(dataDir, { recursive: true });
    this.path = join(dataDir, 'state.json');
  }

  /** Schedules a write. */
  schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, this.debounceMs);
    this.timer.unref();
  }

  /** Writes now (and cancels a pending write). */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.build()));
    renameSync(tmp, this.path);
  }
}
