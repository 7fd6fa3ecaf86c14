/**
 * Rendezvous (highest-random-weight) hashing: the owner of a key is the member
 * with the highest hash(member, key). Every shard computes the same owner from
 * the same member set, and a membership change only moves the keys of the
 * member that joined or left (https://en.wikipedia.org/wiki/Rendezvous_hashing).
 */
import { createHash } from 'node:crypto';

/** 64-bit weight of (member, key) as a bigint: first 8 bytes of SHA-1("member\0key"). */
export function weight(member: string, key: string): bigint {
  return createHash('sha1').update(member).update('\0').update(key).digest().readBigUInt64BE(0);
}

/**
 * The owner of `key` among `members` (order does not matter), or undefined
 * when there are no members. Ties (practically impossible) go to the
 * lexicographically smaller member id.
 */
export function ownerOf(key: string, members: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestWeight = -1n;
  for (const m of members) {
    const w = weight(m, key);
    if (w > bestWeight || (w === bestWeight && best !== undefined && m < best)) {
      best = m;
      bestWeight = w;
    }
  }
  return best;
}
