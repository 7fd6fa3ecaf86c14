package bench;

import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.bson.Document;
import io.netty.channel.Channel;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.List;

/**
 * An in-memory MongoDB-wire server for benchmarks (not for tests: the suite
 * runs on FerretDB). Reports server version 6.0 (wire version 17) so the
 * current MongoDB driver accepts it. Usage: Main <port>; prints "READY <port>".
 *
 * <p>One command of its own, {@code {benchGc: 1}}: runs a full garbage
 * collection and answers when it is done. bench/notifier.ts sends it before
 * every measured window, so that the collector's concurrent cycles (with
 * ZGC about a core for seconds once the heap holds a few GB of documents)
 * come between windows rather than inside one of them by chance.
 *
 * <p>ZGC also starts three "warm-up" cycles of its own, when the heap first
 * reaches 10, 20 and 30 % full, whatever else happened; {@link #warmUpZgc}
 * gets them over with before the server reports READY.
 */
public class Main {
  public static void main(String[] args) throws Exception {
    MongoVersion v =
        new MongoVersion() {
          public List<Integer> getVersionArray() {
            return List.of(6, 0, 0);
          }

          public int getWireVersion() {
            return 17;
          }
        };
    MemoryBackend backend =
        new MemoryBackend() {
          @Override
          public Document handleCommand(
              Channel channel, String database, String command, Document query) {
            if (!command.equals("benchGc")) {
              return super.handleCommand(channel, database, command, query);
            }
            System.gc();
            Document ok = new Document();
            ok.put("ok", 1.0);
            return ok;
          }
        };
    backend.version(v);
    MongoServer server = new MongoServer(backend);
    warmUpZgc();
    server.bind("127.0.0.1", Integer.parseInt(args[0]));
    System.out.println("READY " + args[0]);
    Thread.currentThread().join();
  }

  /** Sink for {@link #warmUpZgc}'s garbage, so the JIT cannot drop the allocations. */
  static volatile byte[] sink;

  /**
   * Under ZGC, allocates garbage until ZGC has run its three warm-up cycles
   * (at most 60 s): ZGC counts a cycle as warm-up only when it started it
   * for that reason, so explicit collections do not stand in for them.
   */
  static void warmUpZgc() {
    GarbageCollectorMXBean cycles = null;
    for (GarbageCollectorMXBean b : ManagementFactory.getGarbageCollectorMXBeans()) {
      if (b.getName().equals("ZGC Cycles")) cycles = b;
    }
    if (cycles == null) return;
    long until = System.currentTimeMillis() + 60_000;
    while (cycles.getCollectionCount() < 3 && System.currentTimeMillis() < until) {
      for (int i = 0; i < 256; i++) sink = new byte[1 << 20];
    }
    sink = null;
  }
}
