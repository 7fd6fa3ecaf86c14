/**
 * Where the notifier's CPU went in each kind of bench window:
 *   node bench/lib/profile-windows.mjs <BENCH_PROFILE_DIR> [top=30]
 *
 * Reads the newest *.cpuprofile there and the windows.json bench/notifier.ts
 * wrote next to it (window bounds on CLOCK_MONOTONIC, µs, the clock of the
 * profile's timestamps), sums the self time of each function over all
 * windows of a kind (label less its "(round N)"), and prints both kinds in
 * ms of CPU per s of window (‰ of one core) with their difference, largest
 * first: what one kind of window costs beyond the other.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
const top = Number(process.argv[3] ?? 30);
const file = readdirSync(dir)
  .filter((f) => f.endsWith('.cpuprofile'))
  .map((f) => join(dir, f))
  .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
const profile = JSON.parse(readFileSync(file, 'utf8'));
const windows = JSON.parse(readFileSync(join(dir, 'windows.json'), 'utf8'));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const name = ({ callFrame: f }) =>
  `${f.functionName || '(anonymous)'} ${f.url.replace(/.*node_modules\//, '').replace(/.*\/(services|packages)\//, '$1/')}:${f.lineNumber + 1}`;

/** kind → { seconds, self: Map<name, µs> } */
const kinds = new Map();
let t = profile.startTime;
const times = profile.timeDeltas.map((d) => (t += d));
for (const w of windows) {
  const kind = w.label.replace(/ \(round \d+\)$/, '');
  let k = kinds.get(kind);
  if (!k) kinds.set(kind, (k = { seconds: 0, self: new Map() }));
  k.seconds += (w.endUs - w.startUs) / 1e6;
  profile.samples.forEach((id, i) => {
    if (times[i] < w.startUs || times[i] >= w.endUs) return;
    const n = name(nodes.get(id));
    // a sample's time is the delta to the next one
    k.self.set(n, (k.self.get(n) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
  });
}
const [a, b] = [...kinds.keys()];
const rate = (kind, n) => (kinds.get(kind).self.get(n) ?? 0) / 1000 / kinds.get(kind).seconds;
const total = (kind) =>
  [...kinds.get(kind).self]
    .filter(([n]) => !n.startsWith('(idle)'))
    .reduce((s, [, v]) => s + v, 0) /
  1000 /
  kinds.get(kind).seconds;
console.log(
  `${file}\n${a}: ${total(a).toFixed(0)} ms/s busy; ${b}: ${total(b).toFixed(0)} ms/s busy`,
);
const names = new Set([...kinds.get(a).self.keys(), ...kinds.get(b).self.keys()]);
const rows = [...names]
  .filter((n) => !n.startsWith('(idle)'))
  .map((n) => [n, rate(a, n), rate(b, n)])
  .sort((x, y) => Math.abs(y[2] - y[1]) - Math.abs(x[2] - x[1]))
  .slice(0, top);
for (const [n, x, y] of rows)
  console.log(
    `${(y - x >= 0 ? '+' : '') + (y - x).toFixed(2)}  (${x.toFixed(2)} → ${y.toFixed(2)})  ${n}`,
  );
