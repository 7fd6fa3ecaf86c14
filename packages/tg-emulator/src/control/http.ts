/**
 * The control API over HTTP/JSON (node:http). Every route maps to one
 * {@link EmulatorControl} method; bad input answers 400 (unknown things 404)
 * with `{ "error": { "code", "message" } }`. Routes are listed in the
 * package README.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { EmulatorControl } from './control.js';
import { ControlError } from './types.js';

type Handler = (params: string[], body: Record<string, unknown>, query: URLSearchParams) => unknown;

interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
}

const MAX_BODY = 64 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new ControlError(413, 'BODY_TOO_LARGE', 'body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (!text.trim()) return resolve({});
      try {
        const parsed: unknown = JSON.parse(text);
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
          return reject(new ControlError(400, 'BAD_REQUEST', 'body must be a JSON object'));
        resolve(parsed as Record<string, unknown>);
      } catch {
        reject(new ControlError(400, 'BAD_JSON', 'body is not valid JSON'));
      }
    });
    req.on('error', reject);
  });
}

/** A user ref from a path segment: digits → id, else phone/@username. */
function ref(s: string): number | string {
  const d = decodeURIComponent(s);
  return /^\d+$/.test(d) && d.length < 12 ? Number(d) : d;
}

/** Builds the route table for `control`. */
export function controlRoutes(control: EmulatorControl): Route[] {
  /* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies are validated by EmulatorControl */
  const r = (method: string, path: string, handler: Handler): Route => ({
    method,
    pattern: new RegExp('^' + path.replace(/:[a-zA-Z]+/g, '([^/]+)') + '$'),
    handler,
  });
  return [
    r('GET', '/healthz', () => ({ ok: true })),
    r('GET', '/users', () => control.listUsers()),
    r('POST', '/users', (_p, b) => control.createUser(b as any)),
    r('GET', '/users/:ref', ([u]) => control.getUser(ref(u!))),
    r('POST', '/users/:ref/deactivate', ([u], b) =>
      control.setDeactivated(ref(u!), b.deactivated === undefined ? true : !!b.deactivated),
    ),
    r(
      'POST',
      '/users/:ref/contacts',
      ([u], b) => (control.addContact(ref(u!), b.contact as any), { ok: true }),
    ),
    r('GET', '/users/:ref/sent', ([u], _b, q) =>
      control.sentMessages(ref(u!), {
        peer: q.get('peer') ?? undefined,
        limit: q.has('limit') ? Number(q.get('limit')) : undefined,
      }),
    ),
    r('GET', '/users/:ref/history', ([u], _b, q) => {
      const peer = q.get('peer');
      if (!peer) throw new ControlError(400, 'BAD_REQUEST', 'peer query parameter is required');
      return control.history(ref(u!), peer, q.has('limit') ? Number(q.get('limit')) : 100);
    }),
    r('GET', '/users/:ref/connections', ([u]) => control.connections(ref(u!))),
    r('GET', '/users/:ref/auth-keys', ([u]) => control.authKeys(ref(u!))),
    r('GET', '/codes/:phone', ([p]) => {
      const c = control.lastCode(decodeURIComponent(p!));
      if (!c) throw new ControlError(404, 'CODE_NOT_FOUND', 'no code was sent to this phone');
      return c;
    }),
    r(
      'POST',
      '/phones/:phone/ban',
      ([p], b) => (
        control.banPhone(decodeURIComponent(p!), b.banned === undefined ? true : !!b.banned),
        { ok: true }
      ),
    ),
    r('POST', '/settings', (_p, b) => {
      if (typeof b.signUpAllowed !== 'boolean')
        throw new ControlError(400, 'BAD_REQUEST', 'signUpAllowed must be a boolean');
      control.setSignUpAllowed(b.signUpAllowed);
      return { ok: true };
    }),
    r('POST', '/login-tokens/accept', (_p, b) => {
      if (typeof b.token !== 'string' || (typeof b.user !== 'string' && typeof b.user !== 'number'))
        throw new ControlError(400, 'BAD_REQUEST', 'token (string) and user are required');
      return control.acceptLoginToken(b.token, b.user);
    }),
    r('POST', '/messages', (_p, b) => control.sendMessage(b as any)),
    r('POST', '/messages/edit', (_p, b) => control.editMessage(b as any)),
    r('POST', '/messages/delete', (_p, b) => control.deleteMessages(b as any)),
    r('POST', '/groups', (_p, b) => control.createGroup(b as any)),
    r('POST', '/channels', (_p, b) => control.createChannel(b as any)),
    r('POST', '/members', (_p, b) => (control.addMembers(b as any), { ok: true })),
    r('GET', '/connections', () => control.connections()),
    r('GET', '/auth-keys', () => control.authKeys()),
    r('POST', '/auth-keys', (_p, b) => control.importAuthKey(b as any)),
    r(
      'POST',
      '/auth-keys/:id/revoke',
      ([id]) => (control.revokeAuthorization(decodeURIComponent(id!), 'revoke'), { ok: true }),
    ),
    r(
      'POST',
      '/auth-keys/:id/logout',
      ([id]) => (control.revokeAuthorization(decodeURIComponent(id!), 'logout'), { ok: true }),
    ),
    r('GET', '/faults', () => control.listFaults()),
    r('POST', '/faults', (_p, b) => control.injectFault(b as any)),
    r('DELETE', '/faults', () => ({ removed: control.clearFaults() })),
    r('DELETE', '/faults/:id', ([id]) => ({ removed: control.clearFaults(Number(id)) })),
    r('POST', '/server/drop', (_p, b) => ({ dropped: control.dropConnections(b as any) })),
    r(
      'POST',
      '/server/refuse',
      (_p, b) => (control.refuseConnections(b.seconds as number), { ok: true }),
    ),
    r('POST', '/server/latency', (_p, b) => (control.setLatency(b.ms as number), { ok: true })),
    r('GET', '/counters', () => control.counters()),
  ];
  /* eslint-enable @typescript-eslint/no-explicit-any */
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body ?? null);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** Starts the HTTP control server on host:port (0 = any free port). Resolves with the server and its URL. */
export async function startControlHttp(
  control: EmulatorControl,
  host: string,
  port: number,
): Promise<{ server: Server; url: string }> {
  const routes = controlRoutes(control);
  const server = createServer((req, res) => {
    void (async () => {
      try {
        const url = new URL(req.url ?? '/', 'http://control');
        const path = url.pathname.replace(/\/+$/, '') || '/';
        let matchedPath = false;
        for (const route of routes) {
          const m = route.pattern.exec(path);
          if (!m) continue;
          matchedPath = true;
          if (route.method !== req.method) continue;
          const body = req.method === 'GET' || req.method === 'DELETE' ? {} : await readBody(req);
          const result = await route.handler(m.slice(1), body, url.searchParams);
          return send(res, 200, result === undefined ? { ok: true } : result);
        }
        if (matchedPath)
          throw new ControlError(405, 'METHOD_NOT_ALLOWED', `${req.method} not allowed on ${path}`);
        throw new ControlError(404, 'NOT_FOUND', `no route ${req.method} ${path}`);
      } catch (e) {
        if (e instanceof ControlError)
          return send(res, e.status, { error: { code: e.code, message: e.message } });
        send(res, 500, { error: { code: 'INTERNAL', message: (e as Error).message } });
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const bound = typeof addr === 'object' && addr ? addr.port : port;
  return { server, url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}` };
}
