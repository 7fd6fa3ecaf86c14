/**
 * The webhook HTTP client: node:http/https with `request-filtering-agent`,
 * which checks the address actually connected (after DNS, so DNS rebinding
 * does not help) and refuses private, loopback, link-local
 * (169.254.169.254), CGNAT, ULA, IPv4-mapped IPv6, NAT64, multicast and
 * other non-unicast ranges, raw-IP URLs included. `http:` is refused unless
 * allowed. Redirects are never followed (a 3xx is a failed attempt).
 * An explicit allow-list (IPs/CIDRs) or "allow private" switch exists for
 * tests and the local stack.
 */
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { RequestFilteringHttpAgent, RequestFilteringHttpsAgent } from 'request-filtering-agent';
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
  readonly #httpAgent: http.Agent;
  readonly #httpsAgent: https.Agent;
  readonly #verdicts = new Map<string, string | undefined>();

  /**
   * @param maxSocketsPerOrigin keep-alive sockets per origin (= endpoint concurrency)
   */
  constructor(policy: TargetPolicy, maxSocketsPerOrigin: number) {
    this.#policy = policy;
    const filter = {
      allowPrivateIPAddress: policy.allowPrivate,
      allowMetaIPAddress: policy.allowPrivate,
      allowIPAddressList: policy.allowedCidrs,
    };
    const agentOpts = {
      keepAlive: true,
      maxSockets: maxSocketsPerOrigin,
      scheduling: 'lifo' as const,
    };
    this.#httpAgent = new RequestFilteringHttpAgent({ ...agentOpts, ...filter });
    this.#httpsAgent = new RequestFilteringHttpsAgent({ ...agentOpts, ...filter });
  }

  /** checkTargetUrl() under this client's policy, remembered per URL (it parses addresses). */
  #checked(url: string): string | undefined {
    if (this.#verdicts.has(url)) return this.#verdicts.get(url);
    const verdict = checkTargetUrl(url, this.#policy);
    if (this.#verdicts.size >= 10_000) this.#verdicts.clear();
    this.#verdicts.set(url, verdict);
    return verdict;
  }

  /** Closes idle keep-alive sockets. */
  close(): void {
    this.#httpAgent.destroy();
    this.#httpsAgent.destroy();
  }

  /**
   * POSTs once. Never throws: transport problems (refused target, timeout,
   * connection error) come back as `error`.
   */
  post(req: PostRequest): Promise<AttemptResult> {
    const started = performance.now();
    const done = (r: Omit<AttemptResult, 'latencyMs'>): AttemptResult => ({
      ...r,
      latencyMs: Math.round((performance.now() - started) * 10) / 10,
    });
    const refused = this.#checked(req.url);
    if (refused) return Promise.resolve(done({ error: `refused target: ${refused}` }));
    const u = new URL(req.url);
    const mod = u.protocol === 'https:' ? https : http;
    const agent = u.protocol === 'https:' ? this.#httpsAgent : this.#httpAgent;
    const body = Buffer.from(req.body, 'utf8');
    return new Promise<AttemptResult>((resolve) => {
      let settled = false;
      const finish = (r: Omit<AttemptResult, 'latencyMs'>) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(done(r));
      };
      // the engine records the attempt's CLIENT span and sends its traceparent itself
      const request = untraced(() =>
        mod.request(
          u,
          {
            method: 'POST',
            agent,
            headers: { ...req.headers, 'content-length': String(body.length) },
          },
          (res) => {
            const chunks: Buffer[] = [];
            let read = 0;
            res.on('data', (chunk: Buffer) => {
              if (read < KEEP_BODY_BYTES) chunks.push(chunk);
              read += chunk.length;
              if (read > MAX_READ) res.destroy();
            });
            const complete = () =>
              finish({
                statusCode: res.statusCode,
                headers: res.headers,
                responseBody: Buffer.concat(chunks).subarray(0, KEEP_BODY_BYTES).toString('utf8'),
              });
            res.on('end', complete);
            res.on('close', complete);
            res.on('error', complete);
          },
        ),
      );
      const timer = setTimeout(() => {
        request.destroy(new Error(`timeout after ${req.timeoutMs} ms`));
      }, req.timeoutMs);
      request.on('error', (err: Error) => finish({ error: errorText(err) }));
      request.end(body);
    });
  }
}

function errorText(err: Error): string {
  const msg = err.message || String(err);
  if (/^DNS lookup .* is not allowed/.test(msg)) return `refused target: ${msg}`;
  const code = (err as { code?: string }).code;
  return code && !msg.includes(code) ? `${code}: ${msg}` : msg;
}
