/**
 * The webhook HTTP client: undici over sockets from `request-filtering-agent`,
 * which checks the address actually connected (after DNS, so DNS rebinding
 * does not help) and refuses private, loopback, link-local
 * (169.254.169.254), CGNAT, ULA, IPv4-mapped IPv6, NAT64, multicast and
 * other non-unicast ranges, raw-IP URLs included. `http:` is refused unless
 * allowed. Redirects are never followed (a 3xx is a failed attempt).
 * An explicit allow-list (IPs/CIDRs) or "allow private" switch exists for
 * tests and the local stack.
 */
import { isIP, type Socket, type TcpNetConnectOpts } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import ipaddr from 'ipaddr.js';
import { RequestFilteringHttpAgent, RequestFilteringHttpsAgent } from 'request-filtering-agent';
import { Agent, type buildConnector, type Dispatcher } from 'undici';
import { untraced } from '@tgbridge/platform/telemetry';
import type { AttemptResult } from '../domain/outcome.js';

/** SSRF policy. */
export interface TargetPolicy {
  allowHttp: boolean;
  allowPrivate: boolean;
  /** IPs or CIDRs allowed although private. */
  allowedCidrs: string[];
}

/** Max response bytes read (the first 1 KiB is kept). */
const MAX_READ = 64 * 1024;
/** Longest wait for a connection (TCP, and TLS for https) before the attempt fails (ms). */
const CONNECT_TIMEOUT_MS = 10_000;
/** Response body bytes kept in the attempt log. */
export const KEEP_BODY_BYTES = 1024;

/**
 * Checks a URL before storing it: scheme, and for raw-IP hosts the address
 * range. Hostnames are checked again at connect time.
 *
 * @returns undefined when acceptable, else a reason (safe to show)
 */
export function checkTargetUrl(raw: string, policy: TargetPolicy): string | undefined {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return 'not a valid URL';
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return 'scheme must be https';
  if (u.protocol === 'http:' && !policy.allowHttp)
    return 'http: targets are not allowed (use https)';
  if (u.username || u.password) return 'credentials in the URL are not allowed';
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) && !policy.allowPrivate && !ipAllowed(host, policy.allowedCidrs)) {
    const range = ipaddr.process(host).range();
    if (range !== 'unicast') return `target address is not public (${range})`;
  }
  return undefined;
}

function ipAllowed(ip: string, cidrs: string[]): boolean {
  const addr = ipaddr.process(ip);
  return cidrs.some((c) => {
    try {
      if (isIP(c)) return ipaddr.process(c).toString() === addr.toString();
      const [range, bits] = ipaddr.parseCIDR(c);
      return addr.kind() === range.kind() && addr.match([range, bits]);
    } catch {
      return false;
    }
  });
}

/** One webhook request. */
export interface PostRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

/** Sends webhook POSTs under a {@link TargetPolicy}. */
export class WebhookHttpClient {
  readonly #policy: TargetPolicy;
  /** Sockets come from request-filtering-agent (the address checks); undici speaks HTTP on them. */
  readonly #httpFilter: RequestFilteringHttpAgent;
  readonly #httpsFilter: RequestFilteringHttpsAgent;
  readonly #dispatcher: Agent;
  /** Per URL: why it is refused, or its parsed form (the same few URLs every time). */
  readonly #targets = new Map<string, { refused: string } | { url: URL }>();

  /**
   * @param maxSocketsPerOrigin keep-alive connections per origin (= endpoint concurrency)
   * @param tls extra TLS options for https targets (tests pass their CA here)
   */
  constructor(policy: TargetPolicy, maxSocketsPerOrigin: number, tls: ConnectionOptions = {}) {
    this.#policy = policy;
    const filter = {
      allowPrivateIPAddress: policy.allowPrivate,
      allowMetaIPAddress: policy.allowPrivate,
      allowIPAddressList: policy.allowedCidrs,
    };
    this.#httpFilter = new RequestFilteringHttpAgent(filter);
    this.#httpsFilter = new RequestFilteringHttpsAgent(filter);
    this.#dispatcher = new Agent({
      connections: maxSocketsPerOrigin,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      connect: (opts, callback) => this.#connect(opts, tls, callback),
    });
  }

  /**
   * Opens a connection through request-filtering-agent: a raw IP is checked
   * before connecting, a hostname after its DNS lookup, on the addresses
   * actually connected to.
   */
  #connect(
    opts: buildConnector.Options,
    tls: ConnectionOptions,
    callback: buildConnector.Callback,
  ): void {
    const secure = opts.protocol === 'https:';
    const host = opts.hostname.replace(/^\[|\]$/g, '');
    const port = Number(opts.port) || (secure ? 443 : 80);
    // https.Agent#createConnection hands its options to tls.connect (typed as net's here)
    const tlsOptions: ConnectionOptions & TcpNetConnectOpts = {
      ...tls,
      host,
      port,
      servername: isIP(host) ? undefined : (opts.servername ?? host),
      ALPNProtocols: ['http/1.1'],
    };
    const socket = (
      secure
        ? this.#httpsFilter.createConnection(tlsOptions)
        : this.#httpFilter.createConnection({ host, port })
    ) as Socket;
    let called = false;
    const timer = setTimeout(
      () => socket.destroy(new Error(`connect timeout after ${CONNECT_TIMEOUT_MS} ms`)),
      CONNECT_TIMEOUT_MS,
    );
    const once = (err: Error | null) => {
      if (called) return;
      called = true;
      clearTimeout(timer);
      if (err) callback(err, null);
      else callback(null, socket);
    };
    socket.setNoDelay(true);
    socket.once(secure ? 'secureConnect' : 'connect', () => once(null));
    socket.once('error', (err: Error) => once(err));
  }

  /** checkTargetUrl() under this client's policy and the parsed URL, remembered per URL. */
  #target(url: string): { refused: string } | { url: URL } {
    let t = this.#targets.get(url);
    if (!t) {
      const refused = checkTargetUrl(url, this.#policy);
      t = refused ? { refused } : { url: new URL(url) };
      if (this.#targets.size >= 10_000) this.#targets.clear();
      this.#targets.set(url, t);
    }
    return t;
  }

  /** Closes the keep-alive connections (in-flight requests are aborted). */
  close(): void {
    void this.#dispatcher.destroy().catch(() => {});
    this.#httpFilter.destroy();
    this.#httpsFilter.destroy();
  }

  /**
   * POSTs once. Never throws: transport problems (refused target, timeout,
   * connection error) come back as `error`. `timeoutMs` bounds the whole
   * attempt: connecting, sending and reading the response. Uses undici's
   * dispatch API: the response is read from its callbacks, without a stream.
   */
  post(req: PostRequest): Promise<AttemptResult> {
    const started = performance.now();
    // Fields listed one by one: see DeliveryEngine#finish on spreads in hot paths.
    const done = (r: Omit<AttemptResult, 'latencyMs'>): AttemptResult => ({
      statusCode: r.statusCode,
      headers: r.headers,
      responseBody: r.responseBody,
      error: r.error,
      latencyMs: Math.round((performance.now() - started) * 10) / 10,
    });
    const target = this.#target(req.url);
    if ('refused' in target)
      return Promise.resolve(done({ error: `refused target: ${target.refused}` }));
    const u = target.url;
    return new Promise<AttemptResult>((resolve) => {
      let settled = false;
      let controller: Dispatcher.DispatchController | undefined;
      let timedOut: Error | undefined;
      let statusCode: number | undefined;
      let headers: AttemptResult['headers'];
      const chunks: Buffer[] = [];
      let read = 0;
      const settle = (r: Omit<AttemptResult, 'latencyMs'>) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(done(r));
      };
      const response = () => ({
        statusCode,
        headers,
        responseBody: Buffer.concat(chunks).subarray(0, KEEP_BODY_BYTES).toString('utf8'),
      });
      const timer = setTimeout(() => {
        timedOut = new Error(`timeout after ${req.timeoutMs} ms`);
        controller?.abort(timedOut);
        settle({ error: timedOut.message });
      }, req.timeoutMs);
      // the engine records the attempt's CLIENT span and sends its traceparent itself
      untraced(() =>
        this.#dispatcher.dispatch(
          {
            origin: u.origin,
            path: u.pathname + u.search,
            method: 'POST',
            headers: req.headers,
            body: req.body,
            headersTimeout: req.timeoutMs,
            bodyTimeout: req.timeoutMs,
          },
          {
            onRequestStart: (c) => {
              controller = c;
              if (timedOut) c.abort(timedOut);
            },
            onResponseStart: (_c, status, h) => {
              statusCode = status;
              headers = h;
            },
            onResponseData: (c, chunk) => {
              if (read < KEEP_BODY_BYTES) chunks.push(chunk);
              read += chunk.length;
              if (read > MAX_READ) {
                // enough read: the attempt is judged on what arrived
                settle(response());
                c.abort(new Error('response body over the read limit'));
              }
            },
            onResponseEnd: () => settle(response()),
            onResponseError: (_c, err) => settle({ error: errorText(err) }),
          },
        ),
      );
    });
  }
}

function errorText(err: Error): string {
  const msg = err.message || String(err);
  if (/^DNS lookup .* is not allowed/.test(msg)) return `refused target: ${msg}`;
  const code = (err as { code?: string }).code;
  return code && !msg.includes(code) ? `${code}: ${msg}` : msg;
}
