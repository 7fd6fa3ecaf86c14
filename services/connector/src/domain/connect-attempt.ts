/**
 * Pieces of a session's connection attempt (see SessionRunner.connect): the
 * steps reported when one hangs, the timeout and abandonment errors, and
 * the reason label of a failed attempt.
 */
import { RequestTimeoutError, rpcErrorName } from './errors.js';

/** Steps of a connection attempt, as reported in logs and `connect_failures_total{step}`. */
export type ConnectStep = 'load' | 'open' | 'get_me' | 'init_state' | 'recover';

/** A step of a connection attempt did not finish within the connect timeout. */
export class ConnectTimeoutError extends Error {
  constructor(readonly step: ConnectStep) {
    super(`connect step ${step} timed out`);
    this.name = 'ConnectTimeoutError';
  }
}

/** Internal: the attempt was superseded (timed out, stopped); nothing to report. */
export class AttemptAbandoned extends Error {}

/** Low-cardinality reason label of a failed connect (`connect_failures_total{reason}`). */
export function connectFailureReason(e: unknown): string {
  if (e instanceof RequestTimeoutError) return 'timeout';
  if (rpcErrorName(e)) return 'rpc_error';
  if (
    /ECONNREFUSED|ECONNRESET|socket|closed|disconnect|network|connection/i.test(
      String((e as Error)?.message),
    )
  )
    return 'network';
  return 'error';
}
