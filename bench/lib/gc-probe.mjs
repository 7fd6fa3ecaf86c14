/**
 * Preload for a benchmarked process (`node --import bench/lib/gc-probe.mjs`):
 * appends one line per major (mark-compact) garbage collection to the file
 * named by GC_PROBE_FILE: `<start, epoch ms> <pause, ms>`. A
 * PerformanceObserver only; nothing else in the process changes.
 */
import { appendFileSync } from 'node:fs';
import { constants, PerformanceObserver, performance } from 'node:perf_hooks';

const file = process.env.GC_PROBE_FILE;
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
}
