/**
 * An `Updates` object serialized (and gzip_packed when large) once, to be
 * pushed unchanged to many connections: fan-out encrypts per connection but
 * never re-serializes.
 */
import type { TlObject } from '../rpc.js';
import { maybeGzip } from './service-messages.js';

/** A pre-serialized TL object; `wire` is what goes into the message (maybe gzip_packed). */
export class PreparedUpdates implements TlObject {
  /** The message body to send: `bytes` or its gzip_packed form, whichever is smaller. */
  readonly wire: Buffer;

  constructor(
    readonly className: string,
    readonly bytes: Buffer,
  ) {
    this.wire = maybeGzip(bytes);
  }

  /** Serializes `obj` once (a PreparedUpdates is returned as is). */
  static of(obj: TlObject): PreparedUpdates {
    return obj instanceof PreparedUpdates
      ? obj
      : new PreparedUpdates(obj.className, obj.getBytes());
  }

  getBytes(): Buffer {
    return this.bytes;
  }

  /** True when {@link wire} is gzip_packed. */
  get gzipped(): boolean {
    return this.wire !== this.bytes;
  }
}
