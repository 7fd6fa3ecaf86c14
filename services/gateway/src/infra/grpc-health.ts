/**
 * Minimal client of the standard gRPC health service (`grpc.health.v1.Health/Check`,
 * https://github.com/grpc/grpc/blob/master/doc/health-checking.md), used by
 * `/readyz`. Messages are tiny, so they are encoded by hand:
 * HealthCheckRequest `{ string service = 1 }`, HealthCheckResponse `{ enum status = 1 }`.
 */
import { Metadata, type Client, type ServiceError } from '@grpc/grpc-js';

/** ServingStatus values of grpc.health.v1. */
export const SERVING_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'] as const;

function encodeRequest(service: string): Buffer {
  const name = Buffer.from(service, 'utf8');
  if (name.length === 0) return Buffer.alloc(0);
  if (name.length > 127) throw new Error('service name too long');
  return Buffer.concat([Buffer.from([0x0a, name.length]), name]);
}

function decodeStatus(buf: Buffer): number {
  // field 1, varint: tag 0x08 followed by a one-byte value (0..3)
  for (let i = 0; i + 1 < buf.length; i++) if (buf[i] === 0x08) return buf[i + 1]!;
  return 0;
}

/**
 * Calls Health/Check over an existing client's channel.
 *
 * @param client any grpc-js client (its channel and target are reused)
 * @returns `SERVING`, `NOT_SERVING`, ...
 * @throws ServiceError when the call fails (UNAVAILABLE, DEADLINE_EXCEEDED, ...)
 */
export function checkHealth(client: Client, service = '', timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      '/grpc.health.v1.Health/Check',
      (s: string) => encodeRequest(s),
      (b: Buffer) => decodeStatus(b),
      service,
      new Metadata(),
      { deadline: Date.now() + timeoutMs },
      (err: ServiceError | null, value?: number) => {
        if (err) return reject(err);
        resolve(SERVING_STATUS[value ?? 0] ?? 'UNKNOWN');
      },
    );
  });
}
