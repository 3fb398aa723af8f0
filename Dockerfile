# syntax=docker/dockerfile:1
# Static, non-root image of purge-worker and purgectl.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/purge-worker/purge-worker/internal/daemon.Version=${VERSION}" -o /out/purge-worker ./cmd/purge-worker \
 && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/purgectl ./cmd/purgectl

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/purge-worker /out/purgectl /usr/local/bin/
COPY config.yaml /etc/purge-worker/config.yaml
ENV PURGE_WORKER_CONFIG=/etc/purge-worker/config.yaml
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/purge-worker"]
