package bench;

import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import java.util.List;

/**
 * An in-memory MongoDB-wire server for benchmarks (not for tests: the suite
 * runs on FerretDB). Reports server version 6.0 (wire version 17) so the
 * current MongoDB driver accepts it. Usage: Main <port>; prints "READY <port>".
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
    MemoryBackend backend = new MemoryBackend();
    backend.version(v);
    MongoServer server = new MongoServer(backend);
    server.bind("127.0.0.1", Integer.parseInt(args[0]));
    System.out.println("READY " + args[0]);
    Thread.currentThread().join();
  }
}
