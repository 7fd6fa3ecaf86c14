# syntax=docker/dockerfile:1
#
# One Dockerfile for the whole fleet; build from the repository root with a
# target per image:
#
#   docker build --target gateway   -t tgbridge/gateway .
#   docker build --target auth      -t tgbridge/auth .
#   docker build --target connector -t tgbridge/connector .
#   docker build --target notifier  -t tgbridge/notifier .
#   docker build --target tools     -t tgbridge/tools .   # emulator + demo receiver (trying it out only)
#
# Service images run a precompiled bundle (scripts/build.ts, esbuild) with
# production dependencies only: no tsx, no TypeScript, no dev tooling, and
# nothing is written to the root filesystem at run time. See docs/operations.md.

ARG NODE_IMAGE=node:20-bookworm-slim

# --- base: Node + tini (PID 1 that forwards signals and reaps zombies) ------
FROM ${NODE_IMAGE} AS base
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false

# --- manifests: package.json of the root and of every workspace -------------
# Copied alone so that the npm install layers below are cached until a
# manifest or the lockfile changes (not on every source change).
FROM base AS manifests
COPY packages /tmp/src/packages
COPY services /tmp/src/services
RUN cd /tmp/src \
  && find packages services -mindepth 2 -maxdepth 2 -name package.json -exec cp --parents {} /app/ \; \
  && rm -rf /tmp/src
COPY package.json package-lock.json .npmrc /app/

# --- deps: every dependency, dev included (build tools, tsx) ----------------
# `npm install` with the lockfile rather than `npm ci`: npm 11 refuses `ci`
# for lockfiles without other platforms' optional packages (npm/cli#8805).
# Install scripts are not needed (esbuild ships its binary as an optional
# package) and stay off.
FROM manifests AS deps
RUN --mount=type=cache,target=/root/.npm \
  npm install --include=dev --ignore-scripts --no-audit --no-fund

# --- build: bundle each service into services/<name>/dist -------------------
FROM deps AS build
COPY . .
RUN node --import tsx scripts/build.ts

# --- prod-deps: runtime dependencies only -------------------------------------
FROM manifests AS prod-deps
RUN --mount=type=cache,target=/root/.npm \
  npm install --omit=dev --ignore-scripts --no-audit --no-fund

# --- runtime: what every service image shares ---------------------------------
FROM base AS runtime
ENV NODE_ENV=production
COPY --from=prod-deps /app /app
# Mount point of the emulator's key volume (docker-compose, emulator profile);
# owned by the service user so a fresh named volume gets that owner.
RUN mkdir -p /emulator && chown 1000:1000 /emulator
# The image's `node` user, by number so that Kubernetes can verify runAsNonRoot.
USER 1000:1000

FROM runtime AS gateway
COPY --from=build /app/services/gateway/dist /app/services/gateway/dist
ENV SERVICE_NAME=gateway
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--enable-source-maps", "--import", "/app/services/gateway/dist/telemetry-register.js", "/app/services/gateway/dist/main.js"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.HTTP_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

FROM runtime AS auth
COPY --from=build /app/services/auth/dist /app/services/auth/dist
ENV SERVICE_NAME=auth
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--enable-source-maps", "--import", "/app/services/auth/dist/telemetry-register.js", "/app/services/auth/dist/main.js"]
EXPOSE 50051 9464
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.METRICS_PORT||9464)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

FROM runtime AS connector
COPY --from=build /app/services/connector/dist /app/services/connector/dist
ENV SERVICE_NAME=connector
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--enable-source-maps", "--import", "/app/services/connector/dist/telemetry-register.js", "/app/services/connector/dist/main.js"]
EXPOSE 9464
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.METRICS_PORT||9464)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

FROM runtime AS notifier
COPY --from=build /app/services/notifier/dist /app/services/notifier/dist
ENV SERVICE_NAME=notifier
# Larger young generation: deliveries live for milliseconds to seconds; fewer of
# them reach the old generation, whose collections set the latency tail
# (bench/notifier.ts: less CPU per delivery, up to ~100 MB more memory).
#
# --v8-pool-size=1: one V8 worker thread (Node's default is 4, whatever the
# cores). A major GC marks ~100 MB live on those threads, ~200 ms of CPU at
# once; on a host with few cores they starved the event loop, which stalled
# deliveries for 40-80 ms. With one worker, marking takes longer but the
# event loop keeps running (bench/notifier.ts, windows with a major GC:
# max latency 15-28 ms against 24-60 ms). Raise it on hosts with cores to spare.
ENV NODE_OPTIONS="--max-semi-space-size=64 --v8-pool-size=1"
# --heap-growing-percent=300: the next major GC when the old generation is 4x
# what the last one kept. V8 otherwise sizes that step to spend ~3 % of CPU
# on GC, which here meant a major GC every 5-10 s, each stalling deliveries
# for 40-80 ms on a busy host. Cost per collection is the same (it marks what
# is live); they come 3-4x less often, at the same peak RSS in the benchmark.
# Not allowed in NODE_OPTIONS, hence on the command line.
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--heap-growing-percent=300", "--enable-source-maps", "--import", "/app/services/notifier/dist/telemetry-register.js", "/app/services/notifier/dist/main.js"]
EXPOSE 9464
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.METRICS_PORT||9464)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# --- tools: Telegram emulator and demo webhook receiver, run from source ------
# For `docker compose --profile emulator` only; never deploy it. Keeps dev
# dependencies (tsx, the Standard Webhooks library) and the sources.
FROM deps AS tools
COPY . .
RUN mkdir -p /data && chown 1000:1000 /data
ENV NODE_ENV=development
USER 1000:1000
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--import", "tsx"]
CMD ["packages/tg-emulator/src/main.ts"]
