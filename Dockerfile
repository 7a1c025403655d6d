# The cosell image: the built package (dist/) and its runtime dependencies on Node 20, run as the
# unprivileged `node` user. The default command is a worker serving /metrics, /healthz and /readyz on
# 9464; compose.yaml runs the sandbox CRMs, the console and `cosell sync start` from the same image.
#   docker build -t cosell .
#   docker run --rm -e TEMPORAL_ADDRESS=… -e DATABASE_URL=… -v $PWD/cosell.yaml:/app/cosell.yaml cosell
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# better-sqlite3 compiles from source when no prebuilt binary fits.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# The workspace packages' manifests (sandbox/ is @cosell/sandbox): npm ci installs their dependencies too.
COPY sandbox/package.json ./sandbox/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs ./scripts/build.mjs
# The folders tsconfig.build.json compiles, and the demo network the build copies whole.
COPY activities ./activities
COPY analytics ./analytics
COPY app ./app
COPY cli ./cli
COPY connectors ./connectors
COPY console ./console
COPY examples ./examples
COPY ledger ./ledger
COPY lib ./lib
COPY mappings ./mappings
COPY notify ./notify
COPY overlaps ./overlaps
COPY push ./push
COPY registrations ./registrations
COPY rules ./rules
COPY sandbox ./sandbox
COPY sync ./sync
COPY workflows ./workflows
# The packages the image runs: @cosell/sandbox, then cosell (not the contract suite, a test package).
RUN node scripts/build.mjs sandbox && node scripts/build.mjs . && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    COSELL_LOG_FORMAT=json \
    COSELL_METRICS_PORT=9464 \
    COSELL_METRICS_HOST=0.0.0.0
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# @cosell/sandbox (the demo's CRMs): node_modules/@cosell/sandbox is npm's link to this folder.
COPY --from=build /app/sandbox/package.json ./sandbox/
COPY --from=build /app/sandbox/dist ./sandbox/dist
COPY bin ./bin
COPY deploy ./deploy
# Where the sandbox leaves its connection details for the other containers, and keeps its CRM data (compose.yaml).
RUN mkdir -p /run/cosell /var/lib/cosell && chown node:node /run/cosell /var/lib/cosell && chmod 0700 /run/cosell /var/lib/cosell
USER node
EXPOSE 9464
# Liveness: the worker's ops server (lib/opsServer.ts) on the port the worker was given.
HEALTHCHECK --interval=15s --timeout=3s --start-period=120s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:' + (process.env.COSELL_METRICS_PORT || 9464) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
ENTRYPOINT ["node", "bin/cosell.js"]
CMD ["worker"]
