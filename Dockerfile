# The release image: Puguh built with -tags openssl, so RS256 tokens are signed
# by OpenSSL's libcrypto (about three times Go's crypto/rsa per signature on
# the benchmark machine; docs/performance.md). That needs cgo and libcrypto 3
# at run time, hence a glibc base with OpenSSL (distroless/base) instead of
# distroless/static, and build and run stages on the same Debian release so
# the binary's glibc and libcrypto versions exist at run time.
#
# A static image on the standard library instead: build with
# CGO_ENABLED=0 and no tags, and run it FROM gcr.io/distroless/static-debian12.
FROM golang:1.26-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libssl-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=1 go build -tags openssl -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/puguh ./cmd/puguh

FROM gcr.io/distroless/base-debian12:nonroot
COPY --from=build /out/puguh /usr/local/bin/puguh
# The embedded SQLite default keeps its database (and generated secret) here.
ENV PUGUH_ADDR=0.0.0.0:8080 PUGUH_DATA_DIR=/data
VOLUME ["/data"]
USER nonroot:nonroot
EXPOSE 8080
# No shell or curl in the image: the binary asks its own /readyz on the admin
# listener (PUGUH_ADMIN_ADDR, 127.0.0.1:9090 unless set).
HEALTHCHECK --interval=5s --timeout=3s --start-period=60s --retries=3 CMD ["/usr/local/bin/puguh", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/puguh"]
CMD ["serve"]
