/**
 * A grpc-js name resolver for a fixed list of `host:port` addresses whose
 * hosts may be DNS names (`tgb-static:auth-0.auth:50051,auth-1.auth:50051`).
 * Every host is looked up (all A/AAAA records) on each resolution request, so
 * the `round_robin` policy spreads calls over every replica and picks up
 * changed pod IPs after a reconnect.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { experimental, status, Metadata, type ChannelOptions } from '@grpc/grpc-js';

/** URI scheme handled by {@link StaticListResolver}. */
export const STATIC_SCHEME = 'tgb-static';

type GrpcUri = experimental.GrpcUri;
type Listener = experimental.ResolverListener;
type Endpoint = experimental.Endpoint;

/** Splits `host:port` (IPv6 in brackets) into parts. @throws Error when malformed. */
export function splitAddress(address: string): { host: string; port: number } {
  const m = /^\s*(\[[^\]]+\]|[^:\s]+):(\d{1,5})\s*$/.exec(address);
  if (!m) throw new Error(`gRPC address must be host:port, got ${JSON.stringify(address)}`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

class StaticListResolver implements experimental.Resolver {
  #destroyed = false;
  #running = false;

  constructor(
    private readonly target: GrpcUri,
    private readonly listener: Listener,
    _options: ChannelOptions,
  ) {}

  updateResolution(): void {
    this.#destroyed = false;
    if (this.#running) return;
    this.#running = true;
    void this.#resolve().finally(() => {
      this.#running = false;
    });
  }

  async #resolve(): Promise<void> {
    const endpoints: Endpoint[] = [];
    const failures: string[] = [];
    for (const item of this.target.path.split(',')) {
      try {
        const { host, port } = splitAddress(item);
        const addrs = isIP(host) ? [{ address: host }] : await lookup(host, { all: true });
        for (const a of addrs) endpoints.push({ addresses: [{ host: a.address, port }] });
      } catch (err) {
        failures.push(`${item}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    if (this.#destroyed) return;
    if (endpoints.length === 0) {
      this.listener(
        {
          ok: false,
          error: {
            code: status.UNAVAILABLE,
            details: `no auth address resolved (${failures.join('; ')})`,
            metadata: new Metadata(),
          },
        },
        {},
        null,
        '',
      );
      return;
    }
    this.listener({ ok: true, value: endpoints }, {}, null, '');
  }

  destroy(): void {
    this.#destroyed = true;
  }

  static getDefaultAuthority(target: GrpcUri): string {
    return target.path.split(',')[0] ?? 'localhost';
  }
}

let registered = false;

/** Registers the `tgb-static:` scheme with grpc-js (idempotent). */
export function registerStaticResolver(): void {
  if (registered) return;
  experimental.registerResolver(STATIC_SCHEME, StaticListResolver);
  registered = true;
}
