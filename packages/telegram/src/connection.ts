/**
 * GramJS connection classes pinned to one DC address. GramJS dials port
 * 80/443 whatever the session says (and the host from help.getConfig for
 * file-transfer connections), so these subclasses replace ip and port in the
 * constructor — which GramJS also calls on every reconnect.
 *
 * Transports: https://core.telegram.org/mtproto/mtproto-transports
 */
import type { Connection } from 'telegram/network/connection/index.js';
import {
  ConnectionTCPAbridged,
  ConnectionTCPFull,
  ConnectionTCPObfuscated,
} from 'telegram/network/connection/index.js';
import { AbridgedPacketCodec } from 'telegram/network/connection/TCPAbridged.js';

/** Transport framing the client uses. `full` is GramJS's default. */
export type TelegramTransport = 'full' | 'abridged' | 'intermediate' | 'obfuscated';

type ConnectionParams = ConstructorParameters<typeof Connection>[0];
type ConnectionClass = typeof Connection;

interface ByteReader {
  read(n: number): Promise<Buffer>;
  readExactly?(n: number): Promise<Buffer>;
}

/** Reads exactly n bytes (GramJS's plain socket `read` may return fewer). */
async function readExactly(reader: ByteReader, n: number): Promise<Buffer> {
  if (reader.readExactly) return reader.readExactly(n);
  return reader.read(n);
}

/** Abridged codec that also works on plain sockets when packets arrive split. */
class SafeAbridgedPacketCodec extends AbridgedPacketCodec {
  override async readPacket(reader: ByteReader): Promise<Buffer> {
    const first = await readExactly(reader, 1);
    let length = first[0]! & 0x7f;
    if (length >= 127) length = (await readExactly(reader, 3)).readUIntLE(0, 3);
    return readExactly(reader, length << 2);
  }
}

/** Intermediate codec (tag 0xeeeeeeee): 4-byte little-endian length + payload. GramJS has none. */
class IntermediatePacketCodec extends AbridgedPacketCodec {
  static override tag = Buffer.from('eeeeeeee', 'hex');
  static override obfuscateTag = Buffer.from('eeeeeeee', 'hex');
  constructor(connection: unknown) {
    super(connection);
    // `tag`/`obfuscateTag` are private in GramJS's typings but read by Connection.
    Object.assign(this, {
      tag: IntermediatePacketCodec.tag,
      obfuscateTag: IntermediatePacketCodec.obfuscateTag,
    });
  }
  override encodePacket(data: Buffer): Buffer {
    const len = Buffer.alloc(4);
    len.writeUInt32LE(data.length, 0);
    return Buffer.concat([len, data]);
  }
  override async readPacket(reader: ByteReader): Promise<Buffer> {
    const len = (await readExactly(reader, 4)).readUInt32LE(0);
    return readExactly(reader, len & 0x7fffffff);
  }
}

class SafeAbridgedConnection extends ConnectionTCPAbridged {
  override PacketCodecClass = SafeAbridgedPacketCodec;
}

class IntermediateConnection extends ConnectionTCPAbridged {
  override PacketCodecClass = IntermediatePacketCodec as unknown as typeof AbridgedPacketCodec;
}

/** GramJS's own connection class for a transport (no address pinning). */
export function baseConnectionClass(transport: TelegramTransport = 'full'): ConnectionClass {
  switch (transport) {
    case 'abridged':
      return SafeAbridgedConnection;
    case 'intermediate':
      return IntermediateConnection;
    case 'obfuscated':
      return ConnectionTCPObfuscated;
    default:
      return ConnectionTCPFull;
  }
}

/**
 * A GramJS connection class that always dials `host:port`, whatever DC
 * address GramJS picked (session address, help.getConfig dcOptions, port 443).
 * @param port TCP port, 1..65535 (keep ≤ 32767 for StringSession).
 */
export function pinnedConnectionClass(
  host: string,
  port: number,
  transport: TelegramTransport = 'full',
): ConnectionClass {
  const Base = baseConnectionClass(transport);
  const Pinned = class extends Base {
    constructor(params: ConnectionParams) {
      super({ ...params, ip: host, port });
    }
  };
  Object.defineProperty(Pinned, 'name', { value: `Pinned${Base.name}` });
  return Pinned;
}
