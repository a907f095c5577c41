# kubesim in a container, for sweeps sharded onto a Kubernetes Indexed Job (docs/sweep.md).
#   docker build -t kubesim:dev .
#   docker run --rm -v "$PWD:/work" -w /work kubesim:dev run scenarios/quick-start.yaml
# The build needs only crates.io; the bundled font and scenarios are part of the source tree.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked && strip target/release/kubesim

FROM debian:bookworm-slim
COPY --from=build /src/target/release/kubesim /usr/local/bin/kubesim
COPY --from=build /src/scenarios /usr/share/kubesim/scenarios
# Not root: the Job writes its results to a mounted volume.
RUN useradd --uid 10001 --create-home kubesim
USER 10001
WORKDIR /home/kubesim
ENTRYPOINT ["kubesim"]
CMD ["--help"]
