#!/usr/bin/env bash
# Makes the base images that the real projects of the corpus name in their
# FROM lines (golang:1.23, gcr.io/distroless/static-debian12, ubuntu:latest, …),
# under exactly those names, from Debian bookworm packages: no registry needed.
#
# The corpus's own projects/base-images.sh does the work; it reads this
# machine's apt sources at run time, so no archive host is written anywhere in
# this repository. Idempotent and quick when every image exists (one
# `docker image inspect` per name). Its first run needs root and the
# debootstrap package (to make the Debian root image); .ci/run installs it.
#
# The corpus is ../shared/corpus, or $STAGES_CORPUS.
#
# Usage: scripts/project-base-images.sh [--force|--list]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
corpus=${STAGES_CORPUS:-$root/../shared/corpus}
script="$corpus/projects/base-images.sh"
if [ ! -f "$script" ]; then
    echo "project-base-images.sh: no $script (set STAGES_CORPUS to the corpus)" >&2
    exit 1
fi

# Only the first, slow run needs debootstrap; a later run finds the images.
if ! command -v debootstrap >/dev/null 2>&1 && ! docker image inspect debian:bookworm >/dev/null 2>&1 &&
    ! docker image inspect "${KIT_ROOT_IMAGE:-stages-kit-debian:bookworm}" >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "project-base-images.sh: debootstrap is missing; run: sudo apt-get install -y debootstrap" >&2
        exit 1
    fi
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >&2
fi

exec bash "$script" "$@"
