# syntax=docker/dockerfile:1
# replicant: one image, two entrypoints —
#   replicant replica  [flags]   one member of a replica group
#   replicant operator [flags]   the ReplicaGroup operator
# The image runs plain JavaScript: a build stage strips the TypeScript sources'
# types with Node's own stripper (scripts/build-js.ts), so a member never
# loads the stripper at start (~29 MiB of resident memory per member). The
# image holds that tree, the runtime dependencies and Node.
# No HEALTHCHECK: Kubernetes probes /healthz and /readyz instead.
# test/packaging/image-tree.test.ts builds the same file tree without Docker
# (this file's COPY and RUN lines, the .dockerignore allowlist) and runs both
# entrypoints from it; keep to the instructions that test understands.

ARG NODE_IMAGE=node:24-slim

# --- runtime dependencies only (no dev tools, no install scripts) ------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && find node_modules -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.md' \) -delete

# --- the JavaScript tree: the runtime sources with their types stripped -------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
# The build context is an allowlist (.dockerignore): package.json, the build
# script and the runtime sources (bin/, replica/, proto/, operator/), without tests.
COPY . .
RUN node scripts/build-js.ts --out dist

# --- the image ------------------------------------------------------------------
FROM ${NODE_IMAGE}
ARG NODE_IMAGE
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="replicant" \
      org.opencontainers.image.description="Fault-tolerant replica groups on Kubernetes: Raft with joint-consensus reconfiguration in front of an etcd-compatible key-value store; replica server and operator in one image" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="${NODE_IMAGE}"
ENV NODE_ENV=production
# Huge pages for large allocations (snapshot images): replica/node-flags.ts, REPLICA_NODE_ENV.
ENV GLIBC_TUNABLES=glibc.malloc.hugetlb=1
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist/ ./
# The base image's "node" user, numeric so that runAsNonRoot can verify it.
# Files stay root-owned and read-only to it; --data-dir must be a volume.
USER 1000:1000
# Client, peer, metrics/health (etcd's defaults).
EXPOSE 2379 2380 2381
# node runs with the replica's V8 flags: replica/node-flags.ts says which and why.
ENTRYPOINT ["node", "--max-semi-space-size=16", "--heap-growing-percent=50", "bin/replicant.js"]
CMD ["--help"]
