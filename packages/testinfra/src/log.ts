/**
 * Progress output of the provisioning code. Goes to stderr so it never mixes
 * with a test reporter's stdout. Silence with `TGBRIDGE_INFRA_QUIET=1`.
 */
export function info(message: string): void {
  if (process.env.TGBRIDGE_INFRA_QUIET === '1') return;
  process.stderr.write(`[testinfra] ${message}\n`);
}

/** A warning that is always printed (stderr), e.g. an old nats-server. */
export function warn(message: string): void {
  process.stderr.write(`[testinfra] WARNING: ${message}\n`);
}

/** Removes `user:password@` from a URL so it can be printed. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
