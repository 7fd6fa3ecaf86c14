/** What `npm start` writes to `<data dir>/stack.json` for the demo. */
export interface StackInfo {
  gatewayUrl: string;
  apiKey: string;
  emulatorControlUrl: string | null;
  demoReceiverUrl: string;
  natsUrl: string;
  mongoUrl: string;
}

type Json = Record<string, unknown>;

/** A webhook call as the demo receiver recorded it (GET /events). */
export interface ReceivedWebhook {
  agentId: string;
  webhookId: string;
  receivedAt: string;
  body: Json;
}

/**
 * HTTP helpers of the demo: the gateway REST API (with the stack's API key),
 * the emulator control API and the demo receiver's record of webhooks.
 * Every call throws an Error with the HTTP status and body on a non-2xx answer.
 */
export class DemoClient {
  constructor(private readonly info: StackInfo) {}

  /** Calls the gateway with `X-API-Key`. */
  gateway(method: string, path: string, body?: Json): Promise<Json> {
    return this.call(`${this.info.gatewayUrl}${path}`, method, body, {
      'x-api-key': this.info.apiKey,
    });
  }

  /** Calls the emulator's control API. */
  control(method: string, path: string, body?: Json): Promise<Json> {
    return this.call(`${this.info.emulatorControlUrl}${path}`, method, body);
  }

  /** Returns the emulator user with this phone, creating it when absent. */
  async ensureUser(input: {
    phone: string;
    firstName: string;
    lastName?: string;
    username?: string;
  }): Promise<{ id: number; phone: string }> {
    try {
      return (await this.control('GET', `/users/${encodeURIComponent(input.phone)}`)) as {
        id: number;
        phone: string;
      };
    } catch {
      return (await this.control('POST', '/users', input)) as { id: number; phone: string };
    }
  }

  /** Polls `probe` every 300 ms until it returns a value; throws after `timeoutMs`. */
  async waitFor<T>(
    probe: () => Promise<T | undefined>,
    timeoutMs: number,
    what: string,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const value = await probe();
      if (value !== undefined) return value;
      await new Promise((r) => setTimeout(r, 300));
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
  }

  /** Waits until the demo receiver got a verified webhook for `agentId` matching `match`. */
  waitForWebhook(
    agentId: string,
    match: (body: Json) => boolean,
    timeoutMs = 30_000,
  ): Promise<ReceivedWebhook> {
    return this.waitFor(
      async () => {
        const res = await fetch(`${this.info.demoReceiverUrl}/events`);
        const events = (await res.json()) as ReceivedWebhook[];
        return events.find((e) => e.agentId === agentId && match(e.body));
      },
      timeoutMs,
      `a webhook for agent ${agentId}`,
    );
  }

  private async call(
    url: string,
    method: string,
    body?: Json,
    headers: Record<string, string> = {},
  ): Promise<Json> {
    const res = await fetch(url, {
      method,
      headers: body ? { 'content-type': 'application/json', ...headers } : headers,
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (!res.ok)
      throw new Error(
        `${method} ${new URL(url).pathname} → HTTP ${res.status} ${text.slice(0, 300)}`,
      );
    return (text ? JSON.parse(text) : {}) as Json;
  }
}
