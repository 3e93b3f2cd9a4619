# syntax=docker/dockerfile:1
#
# commpulse: one static binary in an image with nothing else.
#
#   docker build -t commpulse:dev .
#
# Build stage: the Go toolchain of the go.mod line, pinned. CGO_ENABLED=0,
# and the nodemo build tag leaves out the embedded stack (cmd_stack.go) with
# `commpulse demo` and `commpulse up`: it loads the embedded ClickHouse engine with purego, whose dynamic imports make the binary
# dynamically linked, and the image runs ingest, analyze, migrate and
# generate against real services instead. The build fails if the result is
# not static, so a new dynamic import cannot slip in. The deploy tests build
# with this exact `go build` line and check the ELF the same way.
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-buildvcs=false
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -tags timetzdata,nodemo -trimpath -ldflags='-s -w' -o /out/commpulse ./cmd/commpulse && \
    go build -trimpath -ldflags='-s -w' -o /out/probe ./cmd/probe && \
    ! readelf -l /out/commpulse /out/probe | grep -q INTERP && \
    mkdir -p /out/tmp && chmod 1777 /out/tmp

# Run stage: scratch plus CA certificates (Kafka/ClickHouse over TLS) and a
# writable /tmp. Runs as an unprivileged uid; no shell, no package manager.
FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/tmp /tmp
COPY --from=build /out/commpulse /usr/local/bin/commpulse
COPY --from=build /out/probe /usr/local/bin/probe
USER 65532:65532
# /metrics, /healthz, /readyz: ingest on 9100, analyze on 9101 (their defaults).
EXPOSE 9100 9101
ENTRYPOINT ["/usr/local/bin/commpulse"]
CMD ["ingest"]
