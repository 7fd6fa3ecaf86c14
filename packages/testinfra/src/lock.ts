import { open, readFile, rm } from 'node:fs/promises';
import { pidAlive } from './process.js';
import { info } from './log.js';

/**
 * Runs `fn` while holding an exclusive lock file (`<path>`, created with
 * O_EXCL and holding the owner's pid), so concurrent test workers or
 * processes never build the same binary twice. A lock whose owner pid is
 * gone is considered stale and taken over.
 *
 * @param path lock file path
 * @param what shown in the "waiting for ..." progress line
 * @param timeoutMs give up waiting after this long (default 20 min)
 * @throws Error when the lock cannot be taken within `timeoutMs`
 */
export async function withLock<T>(
  path: string,
  what: string,
  fn: () => Promise<T>,
  timeoutMs = 20 * 60_000,
): Promise<T> {
  const started = Date.now();
  let lastNotice = 0;
  for (;;) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
      if (Number.isFinite(owner) && owner > 0 && !pidAlive(owner)) {
        await rm(path, { force: true });
        continue;
      }
      if (!Number.isFinite(owner) && Date.now() - started > 5000) {
        // Unreadable/empty for a while: a crashed writer. Take it over.
        await rm(path, { force: true });
        continue;
      }
      if (Date.now() - started > timeoutMs) {
        throw new Error(`timed out waiting for ${what} (lock ${path} held by pid ${owner})`);
      }
      if (Date.now() - lastNotice > 30_000) {
        lastNotice = Date.now();
        info(`waiting for ${what} (another process, pid ${owner}, holds ${path})`);
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(path, { force: true });
  }
}
