#!/usr/bin/env bash
# Starts mongo-java-server (in-memory MongoDB wire protocol) on 127.0.0.1 for
# bench/notifier.ts:  bash bench/mongo-java-server/run.sh [port=27999]
# then:               MONGO_URL=mongodb://127.0.0.1:27999/ npx tsx bench/notifier.ts
# Needs a JDK (17+) and Maven (Debian: apt-get install -y default-jdk-headless maven);
# the jars come from Maven Central into ~/.m2. It keeps every document in its heap:
# one bench run writes about half a million (deliveries, attempts, markers). ZGC
# keeps the collector's pauses out of the latency figures (Serial GC paused the
# server for 100-450 ms, a full heap stalled it for seconds); the bench drops its
# database at the end. A ZGC cycle still takes about a core for seconds once the
# heap holds a few GB, so the bench asks for one before every measured window
# (the server's own benchGc command, src/main/java/bench/Main.java), and
# -XX:-ZProactive keeps ZGC from starting others on its own while the heap has
# room. BENCH_JAVA_OPTS replaces the JVM options.
set -euo pipefail
port="${1:-27999}"
here="$(cd "$(dirname "$0")" && pwd)"
build="${XDG_CACHE_HOME:-$HOME/.cache}/tgbridge/mongo-java-server"
for tool in java javac mvn; do
  command -v "$tool" >/dev/null || {
    echo "mongo-java-server needs $tool: apt-get install -y default-jdk-headless maven" >&2
    exit 1
  }
done
mkdir -p "$build"
if [ ! -f "$build/cp.txt" ] || [ "$here/pom.xml" -nt "$build/cp.txt" ]; then
  mvn -q -f "$here/pom.xml" dependency:build-classpath -Dmdep.outputFile="$build/cp.txt"
fi
javac -d "$build/classes" -cp "$(cat "$build/cp.txt")" "$here/src/main/java/bench/Main.java"
exec java ${BENCH_JAVA_OPTS:--XX:+UseZGC -XX:-ZProactive -Xms8g -Xmx8g} -cp "$build/classes:$(cat "$build/cp.txt")" bench.Main "$port"
