/**
 * Fixed local ports of the stack (the printed URLs and the README use them),
 * all shifted by `TGBRIDGE_PORT_OFFSET` (default 0) so a second stack (the
 * end-to-end test) can run beside a developer's. The emulator's MTProto port
 * must stay ≤ 32767 (GramJS's StringSession cannot store larger ports).
 */
export function stackPorts(offset = Number(process.env.TGBRIDGE_PORT_OFFSET ?? 0)) {
  if (!Number.isInteger(offset) || offset < 0 || offset > 20_000) {
    throw new Error(`TGBRIDGE_PORT_OFFSET must be an integer 0..20000, got ${offset}`);
  }
  return {
    gateway: 8080 + offset,
    authGrpc: 50051 - offset,
    authMetrics: 9465 + offset,
    connectorMetrics: [9466 + offset, 9467 + offset],
    notifierMetrics: 9468 + offset,
    emulator: 10443 + offset,
    emulatorControl: 10444 + offset,
    demoReceiver: 8090 + offset,
  };
}
