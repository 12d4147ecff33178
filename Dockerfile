# The desk worker: `npm run worker` (worker/main.ts through tsx) in a container.
#
#   docker build -t service-desk-worker .
#   docker run --rm -e TEMPORAL_ADDRESS=host.docker.internal:7233 -v desk-data:/data service-desk-worker
#
# docker-compose.yml builds this image and runs it next to Temporal, PostgreSQL and the Web UI, with
# SHOP_DATABASE_URL pointing the shop at that PostgreSQL. Run alone, the shop is the SQLite file
# SHOP_DB on the /data volume (one host only).
# The worker needs no Temporal binaries (those are for the dev server and the tests), so the
# postinstall step is told to skip them. It needs no model account either: with OPENAI_API_KEY
# and OPENAI_BASE_URL unset it starts the offline stand-in model inside the container.
#
# The base image is pinned to a full Node 20 release (the project's engine; CI runs 20.20.x).
# Move both FROM lines together.

# --- build stage: production node_modules, with the toolchain for better-sqlite3 ---------------
FROM node:20.20.2-bookworm-slim AS build
# better-sqlite3 downloads a prebuilt binary when it can and compiles from source otherwise.
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 make g++ \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV TEMPORAL_SKIP_INSTALL=1
# The postinstall script (scripts/install-temporal.mjs) runs during `npm ci` and reads its pins.
COPY package.json package-lock.json ./
COPY scripts/install-temporal.mjs scripts/temporal-versions.json ./scripts/
# --omit=dev: tsx is a runtime dependency; jest, eslint, typescript and the test helpers stay out.
RUN npm ci --omit=dev --no-audit --no-fund \
    && npm cache clean --force

# --- runtime stage ---------------------------------------------------------------------------------
FROM node:20.20.2-bookworm-slim
ENV NODE_ENV=production \
    TEMPORAL_SKIP_INSTALL=1 \
    SHOP_DB=/data/shop.db
WORKDIR /app
# Sources (see .dockerignore for what stays out), then the dependencies built above.
COPY . .
COPY --from=build /app/node_modules ./node_modules
# The shop database lives on a volume the unprivileged user can write.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
# `node --import tsx` rather than the tsx CLI: one process, which receives SIGTERM itself and
# drains the worker (Temporal's Worker handles SIGINT/SIGTERM). Run with an init (compose sets
# `init: true`) so PID 1 also reaps zombies.
CMD ["node", "--import", "tsx", "worker/main.ts"]
