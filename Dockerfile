# syntax=docker/dockerfile:1

# Keep in step with the channel in rust-toolchain.toml;
# scripts/check-assets.sh fails when the two differ.
ARG RUST_VERSION=1.95.0

FROM rust:${RUST_VERSION}-slim-bookworm AS chef
ARG RUST_VERSION
# The image already contains this toolchain. Naming it keeps rustup from
# downloading the rustfmt and clippy components that rust-toolchain.toml
# lists, which a release build does not use.
ENV RUSTUP_TOOLCHAIN=${RUST_VERSION}
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /app

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json --bin babyshield-api

FROM chef AS builder
COPY --from=planner /app/recipe.json recipe.json
# This layer depends only on the manifests and Cargo.lock, so Docker reuses
# the compiled dependencies until one of them changes.
RUN cargo chef cook --release --locked --recipe-path recipe.json -p babyshield-api
COPY . .
# The context has no .git, so the build_info metric's commit comes from
# --build-arg BABYSHIELD_COMMIT=$(git rev-parse --short=12 HEAD).
ARG BABYSHIELD_COMMIT=unknown
# The recall sample (data/) and the migrations are compiled into the binary.
RUN cargo build --release --locked -p babyshield-api --bin babyshield-api

# Debian 12 with glibc and libgcc, as the builder links against, and no shell
# or package manager. The nonroot user is uid and gid 65532.
FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
COPY --from=builder /app/target/release/babyshield-api /usr/local/bin/babyshield-api
ENV BIND_ADDRESS=0.0.0.0:8080
USER 65532:65532
EXPOSE 8080
# The service stops taking traffic on SIGTERM and exits within
# SHUTDOWN_DEADLINE_SECONDS (default 25).
STOPSIGNAL SIGTERM
# The image has no curl; the subcommand requests /api/v1/monitoring/healthz
# on the local listener and exits 0 on a 200.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["/usr/local/bin/babyshield-api", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/babyshield-api"]
CMD ["serve"]
