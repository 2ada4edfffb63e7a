# A static binary (no cgo: SQLite is modernc.org/sqlite) in a distroless,
# non-root image.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# .git is not sent to the builder: pass them, e.g.
#   docker build --build-arg VERSION=$(git describe --always --dirty) --build-arg COMMIT=$(git rev-parse HEAD) .
ARG VERSION=devel
ARG COMMIT=unknown
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" -o /out/oneonone ./cmd/oneonone \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/oneonone /oneonone
# /data must exist and belong to the nonroot user (65532) before a volume
# is mounted over it, so that a fresh named volume is writable.
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
VOLUME /data
# HTTP; media on one UDP port with ICE-TCP fallback.
EXPOSE 8080 3478/udp 3478/tcp
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/oneonone", "healthcheck", "--server", "http://127.0.0.1:8080"]
ENTRYPOINT ["/oneonone"]
CMD ["serve", "--data", "/data", "--listen", ":8080"]
