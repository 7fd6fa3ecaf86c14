/**
 * Message identifiers: generation of server msg_ids and validation of the
 * client's.
 *
 * A msg_id is a 64-bit number ≈ unixtime * 2^32. Client msg_ids are
 * divisible by 4; server msg_ids are ≡ 1 (mod 4) for responses to a client
 * message and ≡ 3 (mod 4) otherwise; both grow monotonically.
 * Source: https://core.telegram.org/mtproto/description#message-identifier-msg-id
 */

let last = 0n;

/**
 * A new server msg_id (process-wide monotonic).
 * @param response true for a message answering a client message (rpc_result,
 *   pong, bad_msg_notification...: ≡ 1 mod 4), false for other messages
 *   (updates, new_session_created: ≡ 3 mod 4).
 */
export function nextServerMsgId(response: boolean): bigint {
  const nowMs = Date.now();
  const secs = BigInt(Math.floor(nowMs / 1000));
  const frac = BigInt(Math.floor(((nowMs % 1000) / 1000) * 2 ** 32)) & ~3n;
  let id = (secs << 32n) | frac;
  if (id <= last) id = (last & ~3n) + 4n;
  id |= response ? 1n : 3n;
  last = id;
  return id;
}

/** Outcome of checking a client msg_id: 0 = fine, else a bad_msg_notification error code. */
export type MsgIdCheck = 0 | 16 | 17 | 18;

/** Allowed clock skew of a client msg_id, seconds in the past / future (spec: 300 / 30). */
export const MSG_ID_MAX_AGE_S = 300;
export const MSG_ID_MAX_FUTURE_S = 30;

/**
 * Checks a client msg_id against the server clock: 16 = too low (more than
 * 300 s old), 17 = too high (more than 30 s ahead), 18 = not divisible by 4.
 */
export function checkClientMsgId(msgId: bigint, nowMs = Date.now()): MsgIdCheck {
  if ((msgId & 3n) !== 0n) return 18;
  const t = Number(msgId >> 32n);
  const now = nowMs / 1000;
  if (t < now - MSG_ID_MAX_AGE_S) return 16;
  if (t > now + MSG_ID_MAX_FUTURE_S) return 17;
  return 0;
}
