# syntax=docker/dockerfile:1
# One image for the lab: `load-tester` (control server, panel, workers) and `targets` (the
# bundled target services). Built from the workspace's locked dependencies; runs as a non-root
# user. `docker compose up` builds it once and runs every service of the lab from it.

ARG RUST_VERSION=1.95.0

FROM rust:${RUST_VERSION}-slim-bookworm AS build
# cmake: the TLS library's C build (aws-lc-sys) may use it.
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p load-tester -p targets \
 && mkdir -p /out \
 && cp target/release/load-tester target/release/targets /out/

FROM debian:12.9-slim AS runtime
# curl: the health checks.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 loadtester \
 && useradd --system --uid 10001 --gid loadtester --home-dir /var/lib/load-tester \
      --create-home --shell /usr/sbin/nologin loadtester \
 && mkdir -p /var/lib/load-tester/data /var/log/load-tester \
 && chown -R loadtester:loadtester /var/lib/load-tester /var/log/load-tester
COPY --from=build /out/load-tester /out/targets /usr/local/bin/
COPY scenarios /opt/load-tester/scenarios
USER loadtester
WORKDIR /var/lib/load-tester
ENV LT_BIND=0.0.0.0:8080 \
    LT_DATA_DIR=/var/lib/load-tester/data \
    LT_LOG_DIR=/var/log/load-tester \
    LT_SCENARIOS_DIR=/opt/load-tester/scenarios
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/api/health >/dev/null || exit 1
CMD ["load-tester", "serve"]
