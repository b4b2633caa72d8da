# syntax=docker/dockerfile:1
#
# The gatehouse image: one static binary on distroless, as user 65532
# (nonroot), read-only root file system friendly; the embedded store's
# folder /var/lib/gatehouse is a volume.
#
#   docker build -t gatehouse .
#   docker run --rm gatehouse version
#   docker run -v "$PWD/gatehouse.yaml:/etc/gatehouse/gatehouse.yaml:ro" \
#       -v gatehouse-data:/var/lib/gatehouse -p 9000:9000 gatehouse
#
# The binary is built by deploy/build.sh, the one build command, which CI
# also runs and checks (deploy/image_test.go: a static binary that starts).
# The Kubernetes manifests are in deploy/kubernetes; docs/deployment.md.

# The Go release of go.mod's go line (deploy/image_test.go checks it).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# docker build --build-arg GATEHOUSE_VERSION=v1.2.3: what 'gatehouse
# version' prints (deploy/build.sh reads it from the environment).
ARG GATEHOUSE_VERSION
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build sh deploy/build.sh /out/gatehouse
# The embedded store's folder, owned by the user that runs gatehouse.
RUN mkdir -p /out/data

# Static, with CA certificates and time zones; no shell, no package manager.
FROM gcr.io/distroless/static-debian12:nonroot
LABEL org.opencontainers.image.title="gatehouse" \
      org.opencontainers.image.description="OAuth 2.0 / OpenID Connect auth server and API gateway for microservices"
COPY --from=build /out/gatehouse /usr/bin/gatehouse
COPY --from=build --chown=65532:65532 /out/data /var/lib/gatehouse
# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
WORKDIR /var/lib/gatehouse
VOLUME ["/var/lib/gatehouse"]
# auth server, its admin listener, gateway, its admin listener (the ports of
# deploy/kubernetes; the listeners are set in gatehouse.yaml).
EXPOSE 9000 9001 8080 8079
ENTRYPOINT ["/usr/bin/gatehouse"]
# A file of your own: gatehouse.yaml with data: /var/lib/gatehouse (the
# default data folder would be next to the file) and listen addresses that
# are not 127.0.0.1, such as ":9000".
CMD ["serve", "--config", "/etc/gatehouse/gatehouse.yaml"]
