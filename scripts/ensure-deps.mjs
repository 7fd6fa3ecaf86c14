#!/usr/bin/env node
// Runs before `npm test` and `npm start` (npm's pre-scripts): installs the npm
// packages when node_modules is missing or older than package-lock.json, so a
// fresh clone needs no separate install step. Plain Node, no dependencies.
import { createHash } from 'node:crypto';
import { execSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const lock = readFileSync('package-lock.json');
const want = createHash('sha256').update(lock).digest('hex');
const stamp = 'node_modules/.tgbridge-lock-sha256';
const have = existsSync(stamp) ? readFileSync(stamp, 'utf8').trim() : '';

if (have !== want || !existsSync('node_modules/.bin/vitest')) {
  const [major] = process.versions.node.split('.').map(Number);
  if (major < 20) {
    console.error(`tgbridge needs Node.js 20 or newer (found ${process.versions.node}).`);
    process.exit(1);
  }
  // `npm install`, not `npm ci`: npm 11 refuses `ci` when the lock lacks other
  // platforms' optional packages, which npm itself never writes (npm/cli#8805).
  console.log('Installing npm packages (npm install, versions from package-lock.json)...');
  try {
    execSync('npm install --no-audit --no-fund', { stdio: 'inherit' });
  } catch {
    console.error('npm install failed: check access to the npm registry, then run `npm install`.');
    process.exit(1);
  }
  writeFileSync(stamp, `${want}\n`);
}
