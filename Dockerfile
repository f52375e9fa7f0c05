# Static, non-root Puguh image.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/puguh ./cmd/puguh

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/puguh /usr/local/bin/puguh
# The embedded SQLite default keeps its database (and generated secret) here.
ENV PUGUH_ADDR=0.0.0.0:8080 PUGUH_DATA_DIR=/data
VOLUME ["/data"]
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/puguh"]
CMD ["serve"]
