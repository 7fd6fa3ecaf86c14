/**
 * Baseline measured in the same run: how many typical pushed updates this
 * (bench) process can decrypt per second on one core. Tells whether the raw
 * clients, not the server, limit the measured push rate.
 */
import { randomBytes } from 'node:crypto';
import {
  SERVER_TO_CLIENT,
  decryptMessage,
  sealMessage,
} from '../../packages/tg-emulator/src/mtproto/encryption.js';
import { authKeyIdOf } from './raw-client.js';

/** Decrypts a ~320-byte update repeatedly for about `ms` milliseconds; returns updates/s. */
export function clientDecryptCapacity(ms: number): number {
  const key = randomBytes(256);
  const packet = sealMessage(
    key,
    authKeyIdOf(key),
    SERVER_TO_CLIENT,
    1n,
    2n,
    3n,
    1,
    randomBytes(320),
  );
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < ms) {
    for (let i = 0; i < 100; i++) decryptMessage(key, packet, SERVER_TO_CLIENT);
    n += 100;
  }
  return (n / (performance.now() - t0)) * 1000;
}
