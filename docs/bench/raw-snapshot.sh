#!/usr/bin/env bash
# The raw steps release:snapshot stands for, as a shell script would do
# them one after another: four go builds with the version stamped, a
# tar.gz or zip per platform, and checksums. (There is no raw step for the
# SPDX SBOMs or the daemonless image; docs/benchmarks.md says so.)
set -euo pipefail
v=0.1.0-snapshot.$(git rev-parse --short HEAD)
d=$(git log -1 --format=%cI)
out=raw-dist
rm -rf "$out" && mkdir -p "$out"
for p in linux/amd64 linux/arm64 darwin/arm64 windows/amd64; do
	os=${p%/*} arch=${p#*/} dir="$out/web_${os}_${arch}" exe=web
	[ "$os" = windows ] && exe=web.exe
	CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -buildvcs=false \
		-ldflags "-s -w -X main.version=$v -X main.commit=$(git rev-parse HEAD) -X main.date=$d" \
		-o "$dir/$exe" ./cmd/web
	cp README.md "$dir/"
	if [ "$os" = windows ]; then
		(cd "$dir" && zip -q -X "../web_${v}_${os}_${arch}.zip" "$exe" README.md)
	else
		tar -C "$dir" -czf "$out/web_${v}_${os}_${arch}.tar.gz" "$exe" README.md
	fi
done
(cd "$out" && sha256sum ./*.tar.gz ./*.zip > checksums.txt)
