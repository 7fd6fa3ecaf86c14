import { randomBytes } from 'node:crypto';

/** A random positive signed-64-bit value as a decimal string (access hashes, photo/document ids). */
export function randomLong(): string {
  const b = randomBytes(8);
  b[0] = b[0]! & 0x7f;
  const v = b.readBigInt64BE(0);
  return (v === 0n ? 1n : v).toString();
}

/** Peer key for maps: `u123`, `c45`, `ch678`. */
export function peerKey(peer: { type: 'user' | 'chat' | 'channel'; id: number }): string {
  return (peer.type === 'user' ? 'u' : peer.type === 'chat' ? 'c' : 'ch') + peer.id;
}

/** Current time in Unix seconds. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
