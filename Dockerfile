# The Dockerfile path for hoist's reference service, cmd/web.
#
# hoist's own image path (`go tool mage image:build`) needs none of this: it
# reuses the binaries it already cross-compiled and assembles the image
# without a daemon. This file is kept for teams and tools that expect
# `docker build .` to work. It sticks to what Docker 20.10's classic builder
# understands (no RUN --mount, no heredocs, no BuildKit-only variables), so
# it builds on any daemon, with or without BuildKit.
#
#   docker build --build-arg VERSION=$(cat VERSION) \
#                --build-arg COMMIT=$(git rev-parse --short HEAD) \
#                --build-arg DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ) -t web .

# Base images are build arguments so that CI, air-gapped mirrors and tests
# can substitute their own without editing this file. The defaults pin the
# Go minor version and the Debian release; pin a digest as well
# (golang:1.26-bookworm@sha256:…) when builds must be byte-for-byte
# repeatable, because a tag can move.
ARG GO_IMAGE=golang:1.26-bookworm
# distroless/static has no shell and no package manager, carries CA
# certificates and tzdata, and its :nonroot variant defaults to uid 65532.
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot

FROM ${GO_IMAGE} AS builder
WORKDIR /src

# go.mod and go.sum come first, on their own: the download layer below is
# then reused from cache until the dependencies change, not on every source
# edit. The wildcard lets a module without dependencies (and so without a
# go.sum) build too.
COPY go.mod go.sum* ./
RUN go mod download

COPY . .

# Declared after the download so a new version only rebuilds from here on.
ARG VERSION=dev
ARG COMMIT=none
ARG DATE=unknown

# CGO_ENABLED=0 gives a static binary that runs on distroless/static (no
# libc). -trimpath drops host paths from the binary. -s -w strips the
# symbol table and DWARF to shrink it. -buildvcs=false because the version
# is injected explicitly and .git is normally not in the build context.
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.date=${DATE}" \
      -o /out/web ./cmd/web

FROM ${RUNTIME_IMAGE}
COPY --from=builder /out/web /usr/local/bin/web
# Numeric so it works on a base without /etc/passwd, and so Kubernetes'
# runAsNonRoot can verify it without resolving a name.
USER 65532:65532
EXPOSE 8080
# Exec form: the runtime image has no shell. The binary probes its own
# /healthz, so no curl or wget is needed in the image.
HEALTHCHECK --interval=15s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/usr/local/bin/web", "-healthcheck"]
ENTRYPOINT ["/usr/local/bin/web"]
