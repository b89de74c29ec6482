#!/usr/bin/env bash
# Reproduces the peer comparisons in docs/benchmarks.md on this machine.
# Needs hyperfine (Debian), and ko and goreleaser on PATH:
#   GOBIN=$PWD/.tools go install github.com/google/ko@v0.19.1
#   GOBIN=$PWD/.tools go install github.com/goreleaser/goreleaser/v2@v2.15.1
#   PATH=$PWD/.tools:$PATH docs/bench/compare.sh
# It works in a throwaway clone of HEAD and a private registry, and changes
# nothing in the checkout it is run from.
set -euo pipefail
src=$(git rev-parse --show-toplevel)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
git clone -q --no-local "$src" "$work/repo"
cd "$work/repo"
# A private mage cache: with MAGEFILE_HASHFAST, mage reuses any binary
# compiled from identical magefiles, even one built from older hoist code.
export HOIST_REGISTRY_DATA="$work/registry" MAGEFILE_CACHE="$work/mage-cache"
runs=${RUNS:-10}
hf() { hyperfine --warmup 2 --runs "$runs" --style basic --export-markdown "$work/$1.md" "${@:2}" >/dev/null; cat "$work/$1.md"; echo; }

# A separate registry for the pushes that are compared with ko.
go tool hoist-registry -addr 127.0.0.1:5055 -data "$work/peer-registry" >/dev/null &
sleep 2
go tool mage image:build >/dev/null
skopeo copy -q --dest-tls-verify=false "oci:dist/image:$(cat VERSION)" docker://127.0.0.1:5055/base:static
export KO_DEFAULTBASEIMAGE=127.0.0.1:5055/base:static KO_DOCKER_REPO=127.0.0.1:5055/ko KO_BASE=127.0.0.1:5055/base:static KO_REPO=127.0.0.1:5055/ko

echo "## go:build"
# The raw loop is what go:build replaces. go build caches linked binaries,
# so a loop with unchanged flags is itself a no-op; the "full" runs stamp a
# new date each time (as a version bump would) to force every link.
raw_matrix='for p in linux/amd64 linux/arm64 darwin/arm64 windows/amd64; do CGO_ENABLED=0 GOOS=${p%/*} GOARCH=${p#*/} go build -trimpath -buildvcs=false -ldflags "-s -w -X main.version=0.1.0 -X main.date=$D" -o raw/${p%/*}_${p#*/}/web ./cmd/web; done'
hf build-noop "go tool mage go:build" "MAGEFILE_HASHFAST=1 go tool mage go:build" "D=x; $raw_matrix"
hf build-full "SOURCE_DATE_EPOCH=\$(date +%N) MAGEFILE_HASHFAST=1 go tool mage go:build" "D=\$(date +%N); $raw_matrix"

echo "## image build + push (2 platforms)"
hf image "rm -rf dist/image dist/.hoist/image.json && REGISTRY=127.0.0.1:5055/hoist go tool mage image:push" \
	"rm -rf dist/image dist/.hoist/image.json && REGISTRY=127.0.0.1:5055/hoist MAGEFILE_HASHFAST=1 go tool mage image:push" \
	"ko build --bare --platform=linux/amd64,linux/arm64 ./cmd/web"

echo "## release:snapshot"
hf snapshot-full --prepare "rm -rf dist raw-dist dist-goreleaser" "go tool mage release:snapshot" \
	"MAGEFILE_HASHFAST=1 go tool mage release:snapshot" \
	"docs/bench/raw-snapshot.sh" \
	"goreleaser release --snapshot --clean --config docs/bench/goreleaser.yaml" \
	"goreleaser release --snapshot --clean --config docs/bench/goreleaser-ko.yaml"
hf snapshot-noop "go tool mage release:snapshot" "MAGEFILE_HASHFAST=1 go tool mage release:snapshot" \
	"goreleaser release --snapshot --clean --config docs/bench/goreleaser.yaml"
