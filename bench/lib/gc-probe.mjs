/**
 * Preload for a benchmarked process (`node --import bench/lib/gc-probe.mjs`):
 * appends to the file named by GC_PROBE_FILE
 * - one line per major (mark-compact) garbage collection:
 *   `<start, epoch ms> <pause, ms>`;
 * - every 250 ms, `old <epoch ms> <bytes>`: how much the old generation
 *   (old, large-object, code and map spaces) has grown since the process
 *   started, counting growth only (what objects promoted or allocated there
 *   add; collections do not subtract). Its rate is what sets how often
 *   major GCs come.
 * - with `--expose-gc`, on SIGUSR2: a full garbage collection, then
 *   `forced <epoch ms> <ms taken>` (the bench asks for one before every
 *   window, so that whichever window the old generation happens to fill up
 *   in does not decide a p99; how fast each kind of window fills it is
 *   printed instead).
 * A PerformanceObserver, a timer (unref'd) and that signal handler;
 * nothing else in the process changes.
 */
import { appendFileSync } from 'node:fs';
import { constants, PerformanceObserver, performance } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';

const file = process.env.GC_PROBE_FILE;
const OLD_SPACES = new Set([
  'old_space',
  'code_space',
  'map_space',
  'large_object_space',
  'code_large_object_space',
]);

if (file) {
  new PerformanceObserver((list) => {
    const lines = list
      .getEntries()
      .filter((e) => e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR)
      .map(
        (e) => `${(performance.timeOrigin + e.startTime).toFixed(1)} ${e.duration.toFixed(1)}\n`,
      );
    if (lines.length > 0) appendFileSync(file, lines.join(''));
  }).observe({ entryTypes: ['gc'] });

  const oldUsed = () =>
    getHeapSpaceStatistics()
      .filter((s) => OLD_SPACES.has(s.space_name))
      .reduce((sum, s) => sum + s.space_used_size, 0);
  let last = oldUsed();
  let grown = 0;
  setInterval(() => {
    const now = oldUsed();
    if (now > last) grown += now - last;
    last = now;
    appendFileSync(file, `old ${Date.now()} ${grown}\n`);
  }, 250).unref();

  const gc = globalThis.gc;
  if (typeof gc === 'function')
    process.on('SIGUSR2', () => {
      const t0 = performance.now();
      gc();
      appendFileSync(file, `forced ${Date.now()} ${(performance.now() - t0).toFixed(1)}\n`);
    });
}
