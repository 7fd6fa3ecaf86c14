/**
 * Polls `url` until it answers 2xx, every 250 ms, for at most `timeoutMs`
 * (default 90 000 ms: a first start may build nothing but tsx compiles cold).
 * Throws an Error naming `what` and the last failure when the deadline passes.
 */
export async function waitForHttp(url: string, what: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} did not become ready at ${url} within ${timeoutMs} ms (${last})`);
}
