/**
 * Telegram-level fault injection: FLOOD_WAIT_X and arbitrary RPC errors on a
 * method, for one account, one phone or everyone
 * (https://core.telegram.org/api/errors). Connection-level faults (drops,
 * refusal, latency) live on the MTProto server.
 */
import { RpcError } from '../rpc.js';

/** A fault as injected through the control API. */
export interface FaultSpec {
  /** `flood_wait`: 420 FLOOD_WAIT_<seconds>; `rpc_error`: the given code and message. */
  kind: 'flood_wait' | 'rpc_error';
  /**
   * TL method name, as in the schema (`messages.sendMessage`) or GramJS's
   * className (`messages.SendMessage`); case-insensitive. Omitted: every method.
   */
  method?: string;
  /** Only requests of this account. */
  userId?: number;
  /** Only auth requests for this phone (auth.sendCode, auth.signIn ...). */
  phone?: string;
  /** FLOOD_WAIT seconds (flood_wait). */
  seconds?: number;
  /** rpc_error: code (e.g. 500) and message (e.g. `INTERNAL`). */
  code?: number;
  message?: string;
  /** How many requests to fail; omitted: until cleared. */
  times?: number;
}

/** A stored fault with its id and hit count. */
export interface Fault extends FaultSpec {
  id: number;
  hits: number;
}

/** Normalizes `messages.SendMessage` / `messages.sendMessage` to `messages.sendmessage`. */
export function normalizeMethod(name: string): string {
  return name.toLowerCase();
}

/** The active faults. */
export class FaultStore {
  private faults: Fault[] = [];
  private nextId = 1;

  /** Adds a fault; throws `Error` for an invalid spec. Returns it. */
  add(spec: FaultSpec): Fault {
    if (spec.kind !== 'flood_wait' && spec.kind !== 'rpc_error')
      throw new Error('kind must be flood_wait or rpc_error');
    if (spec.kind === 'flood_wait' && !(Number.isInteger(spec.seconds) && spec.seconds! > 0))
      throw new Error('seconds must be a positive integer');
    if (
      spec.kind === 'rpc_error' &&
      !(
        Number.isInteger(spec.code) &&
        typeof spec.message === 'string' &&
        /^[A-Z0-9_]+$/.test(spec.message)
      )
    ) {
      throw new Error('rpc_error needs an integer code and an UPPER_CASE message');
    }
    if (spec.times !== undefined && !(Number.isInteger(spec.times) && spec.times > 0))
      throw new Error('times must be a positive integer');
    const fault: Fault = { ...spec, id: this.nextId++, hits: 0 };
    this.faults.push(fault);
    return fault;
  }

  list(): Fault[] {
    return [...this.faults];
  }

  /** Removes one fault (by id) or all. Returns how many were removed. */
  clear(id?: number): number {
    const before = this.faults.length;
    this.faults = id === undefined ? [] : this.faults.filter((f) => f.id !== id);
    return before - this.faults.length;
  }

  /** Throws the {@link RpcError} of the first matching fault, if any. */
  check(method: string, userId: number | undefined, phone: string | undefined): void {
    const m = normalizeMethod(method);
    for (const f of this.faults) {
      if (f.method !== undefined && normalizeMethod(f.method) !== m) continue;
      if (f.userId !== undefined && f.userId !== userId) continue;
      if (f.phone !== undefined && f.phone.replace(/\D/g, '') !== phone) continue;
      f.hits += 1;
      if (f.times !== undefined && f.hits >= f.times)
        this.faults = this.faults.filter((x) => x !== f);
      if (f.kind === 'flood_wait') throw new RpcError(420, `FLOOD_WAIT_${f.seconds}`);
      throw new RpcError(f.code!, f.message!);
    }
  }
}
