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
# --only NAME... makes only the NAMEs (with the tags built together with
# them, and the Debian image they are built on), so CI makes just what it
# needs: the examples' images take minutes, the whole kit over 20.
#
# Usage: scripts/project-base-images.sh [--force|--list|--only NAME...]
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

if [ "${1:-}" != --only ]; then
    exec bash "$script" "$@"
fi
shift
[ "$#" -gt 0 ] || { echo "usage: $0 --only NAME..." >&2; exit 2; }

# The kit's image functions are each marked `img_NAME() { # tags: TAG...`;
# its last section (after the `main` rule) calls them all.
main_rule='^# -+ main$'
grep -Eq "$main_rule" "$script" || { echo "project-base-images.sh: $script has no main section to leave out" >&2; exit 1; }
functions=(img_debian)
for name in "$@"; do
    found=$(awk -v want="$name" '/^ *img_[a-z_]+\(\) *\{ *# *tags:/ {
        split($0, halves, "tags:"); n = split(halves[2], tags, " ")
        for (i = 1; i <= n; i++) if (tags[i] == want) { sub(/\(\).*/, "", $1); print $1; exit }
    }' "$script")
    [ -n "$found" ] || { echo "project-base-images.sh: the kit makes no image $name (see --list)" >&2; exit 1; }
    [[ " ${functions[*]} " == *" $found "* ]] || functions+=("$found")
done
# What the asked-for images are built on.
wanted=("$@" debian:bookworm)
[[ " $* " == *" gcr.io/distroless/"* ]] && wanted+=(kitbase/distroless-builder:bookworm)
# Sourced without arguments, the kit sets itself up (work directory, log)
# and defines its functions; the main section is cut off.
set --
# shellcheck disable=SC1090
source <(sed -E "/$main_rule/,\$d" "$script")
# A function makes several images (img_golang: three Go versions), each
# only when `all_present` says its tags are not all there: counting only
# the tags asked for, the others are skipped.
all_present() {
    local tag
    for tag in "$@"; do
        [[ " ${wanted[*]} " == *" $tag "* ]] || continue
        [ "$FORCE" = 0 ] && have "$tag" || return 1
    done
    return 0
}
prepare_apt
for function in "${functions[@]}"; do
    "$function"
done
log "done in $(($(date +%s) - START))s: ${functions[*]}"
