#!/usr/bin/env bash
# Engine builds, measured side by side in one run: `stages build --backend
# native` (also with `--jobs 4` on the fan-out), `stages build --backend
# buildkit` against the Engine's BuildKit fed the same Dockerfile with no
# stages logic (the `raw_buildkit` example binary: the docker CLI's BuildKit
# client, as this machine has no buildx), and the Engine's classic builder
# fed the same project as a Dockerfile, through `stages build --backend
# dockerfile` and through `docker build` itself (DOCKER_BUILDKIT=0).
# Prints medians and ratios; it asserts nothing.
#
# Scenarios (each generated into a temp dir as stages.toml, plus the
# Dockerfile `stages export-dockerfile` writes for it):
#   1 fan-out   four independent stages of ~3 s each, one stage copying from all
#   2 pruning   a target that needs 1 of 5 heavy stages (`docker build --target`)
#   3 warm      a no-op rebuild of a 10-stage project, everything cached (the
#               BuildKit back end builds a copy of the project with its own
#               tag: it skips the solve only while its tag names its image)
#   4 context   a 200 MB file in the context that no COPY uses: bytes sent
#   5 size      the quickstart's image against its builder stage
# Runs alternate between the builders, RUNS times (default 4: even, so each
# of two like columns runs first as often, see cold_runs); cold runs use
# --no-cache and start with the previous run's images removed and the
# disk's pending writes flushed.
#
# Every image the bench makes descends from a private base image carrying
# the label dev.stages.bench=<id> (a LABEL on top of busybox:stages-test);
# images inherit it, so the images and containers it made are found by that
# label and removed at the end, and the Engine's other images are left alone.
#
# Needs: a Docker Engine, busybox-static for scripts/base-images.sh, a built
# `stages` (STAGES, default target/release/stages if present, else
# target/debug/stages) and its `raw_buildkit` example (RAW_BUILDKIT, default
# next to it in examples/; `cargo build --example raw_buildkit`).
# Usage: bench/engine.sh [SCENARIO…]   (e.g. `bench/engine.sh 1 3`)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${RUNS:-4}
if [ -z "${STAGES:-}" ]; then
    if [ -x "$root/target/release/stages" ]; then
        STAGES=$root/target/release/stages
    else
        STAGES=$root/target/debug/stages
    fi
fi
[ -x "$STAGES" ] || { echo "stages not built: $STAGES (cargo build --locked)" >&2; exit 2; }
RAW_BUILDKIT=${RAW_BUILDKIT:-$(dirname "$STAGES")/examples/raw_buildkit}
[ -x "$RAW_BUILDKIT" ] || { echo "raw_buildkit not built: $RAW_BUILDKIT (cargo build --example raw_buildkit)" >&2; exit 2; }
case "$STAGES" in
*/release/*) binary_kind="release build" ;;
*/debug/*) binary_kind="debug build" ;;
*) binary_kind="$STAGES" ;;
esac
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(1 2 3 4 5)

id="stages-bench-$$"
label="dev.stages.bench=$id"
base="$id:base"
work=$(mktemp -d)

bench_images() { docker images -aq --no-trunc --filter "label=$label" | sort -u; }

# Removes the bench's images, except the base unless asked; children first,
# so a few passes clear a chain (removing an image takes its untagged parents).
remove_images() {
    local keep_base=${1:-keep-base} base_id ids pass
    base_id=$(docker image inspect --format '{{.Id}}' "$base" 2>/dev/null || true)
    for pass in 1 2 3 4 5 6; do
        ids=$(bench_images | grep -v -x -F "${base_id:-none}" || true)
        [ "$keep_base" = all ] && ids=$(bench_images)
        [ -n "$ids" ] || return 0
        # shellcheck disable=SC2086
        docker rmi -f $ids >/dev/null 2>&1 || true
    done
}

cleanup() {
    local containers
    containers=$(docker ps -aq --filter "label=$label" || true)
    # shellcheck disable=SC2086
    [ -z "$containers" ] || docker rm -f $containers >/dev/null 2>&1 || true
    remove_images all
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ms() { echo $(($(date +%s%N) / 1000000)); }

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# Runs a build, appends its wall time (ms) to $work/times.<key>; its output
# goes to $work/last.log, shown if it fails.
timed() {
    local key=$1 start end
    shift
    # The writes of the build before are flushed first, not charged to this one.
    sync
    start=$(now_ms)
    if ! "$@" >"$work/last.log" 2>&1; then
        echo "bench: build failed: $*" >&2
        tail -n 30 "$work/last.log" >&2
        exit 1
    fi
    end=$(now_ms)
    echo $((end - start)) >>"$work/times.$key"
}

med() { median <"$work/times.$1"; }

# The three builders on one scenario directory. `$1` is the stages target,
# `$2` the docker build --target stage, `$3` extra `stages build` flags.
build_native() { (cd "$1" && "$STAGES" build "$2" --backend native --progress plain $3); }
build_stages_classic() { (cd "$1" && "$STAGES" build "$2" --backend dockerfile --progress plain $3); }
build_stages_buildkit() { (cd "$1" && "$STAGES" build "$2" --backend buildkit --progress plain $3); }
build_raw_buildkit() { (cd "$1" && "$RAW_BUILDKIT" . Dockerfile "$2" $3); }
build_docker_classic() {
    (cd "$1" && DOCKER_BUILDKIT=0 docker build $3 --target "$2" -t "$id-docker:$2" -f Dockerfile .)
}

# Writes $dir/Dockerfile from $dir/stages.toml.
export_dockerfile() { (cd "$1" && "$STAGES" export-dockerfile -o Dockerfile --force >/dev/null); }

# One cold build of `builder` (the key of its times file); `extra`: the
# flags of the native-extra column.
cold_build() {
    local s=$1 dir=$2 target=$3 builder=$4 extra=$5
    remove_images
    case $builder in
    native) timed "$s.native" build_native "$dir" "$target" --no-cache ;;
    native-extra) timed "$s.native-extra" build_native "$dir" "$target" "--no-cache $extra" ;;
    stages-classic) timed "$s.stages-classic" build_stages_classic "$dir" "$target" --no-cache ;;
    docker-classic) timed "$s.docker-classic" build_docker_classic "$dir" "$target" --no-cache ;;
    stages-buildkit) timed "$s.stages-buildkit" build_stages_buildkit "$dir" "$target" --no-cache ;;
    raw-buildkit) timed "$s.raw-buildkit" build_raw_buildkit "$dir" "$target" --no-cache ;;
    esac
}

# Cold runs of every builder; results in times.<s>.<builder>. The build
# that follows the classic builder's (and the removal of its many images)
# is slower, whatever it is: so each pair of like columns swaps places
# every run, and neither keeps that place.
cold_runs() {
    local s=$1 dir=$2 target=$3 extra=${4:-} run builder order
    for run in $(seq 1 "$RUNS"); do
        order=(native native-extra stages-classic docker-classic stages-buildkit raw-buildkit)
        if [ $((run % 2)) = 0 ]; then
            order=(native-extra native docker-classic stages-classic raw-buildkit stages-buildkit)
        fi
        for builder in "${order[@]}"; do
            if [ "$builder" = native-extra ] && [ -z "$extra" ]; then continue; fi
            cold_build "$s" "$dir" "$target" "$builder" "$extra"
        done
        echo "  run $run/$RUNS: native $(tail -1 "$work/times.$s.native") ms," \
            "${extra:+native $extra $(tail -1 "$work/times.$s.native-extra") ms, }stages --backend dockerfile" \
            "$(tail -1 "$work/times.$s.stages-classic") ms, docker build $(tail -1 "$work/times.$s.docker-classic") ms," \
            "stages --backend buildkit $(tail -1 "$work/times.$s.stages-buildkit") ms, raw BuildKit $(tail -1 "$work/times.$s.raw-buildkit") ms" >&2
    done
    remove_images
}

results=()

heavy_stage() { # name seconds
    cat <<EOF
[stages.$1]
from = "$base"
steps = [
  { run = "sleep $2 && mkdir -p /out && for i in \$(seq 1 200); do echo $1-\$i > /out/$1-\$i.txt; done && dd if=/dev/zero of=/out/$1.bin bs=1024 count=2048 2>/dev/null" },
]

EOF
}

scenario_1() {
    local dir=$work/fanout
    mkdir -p "$dir"
    {
        printf '[project]\nname = "bench-fanout"\n\n'
        for s in a b c d; do heavy_stage "$s" 3; done
        printf '[stages.final]\nfrom = "%s"\nsteps = [\n' "$base"
        for s in a b c d; do printf '  { copy = "/out", from = "%s", to = "/in/%s" },\n' "$s" "$s"; done
        printf ']\n\n[targets.fanout]\nstage = "final"\ntags = ["%s-fanout:latest"]\n' "$id"
    } >"$dir/stages.toml"
    export_dockerfile "$dir"
    echo "1 fan-out (4 stages x 3 s, one copying from all)" >&2
    # --jobs defaults to the number of CPUs; the extra column shows the
    # four stages really at once.
    cold_runs 1 "$dir" final "--jobs 4"
    summarize 1 "fan-out: 4 x 3 s stages + 1 (cold)" "native ≤ 1.2× raw BuildKit"
}

scenario_2() {
    local dir=$work/pruning
    mkdir -p "$dir"
    {
        printf '[project]\nname = "bench-pruning"\n\n'
        for s in h1 h2 h3 h4 h5; do heavy_stage "$s" 3; done
        printf '[stages.app]\nfrom = "%s"\nsteps = [{ copy = "/out", from = "h3", to = "/in" }]\n\n' "$base"
        printf '[stages.all]\nfrom = "%s"\nsteps = [\n' "$base"
        for s in h1 h2 h3 h4 h5; do printf '  { copy = "/out", from = "%s", to = "/in/%s" },\n' "$s" "$s"; done
        printf ']\n\n[targets.app]\nstage = "app"\ntags = ["%s-app:latest"]\n\n' "$id"
        printf '[targets.all]\nstage = "all"\ntags = ["%s-all:latest"]\n' "$id"
    } >"$dir/stages.toml"
    # Every stage is in the Dockerfile; `docker build --target app` is what a
    # Dockerfile user runs, and the classic builder runs every stage before it.
    export_dockerfile "$dir"
    echo "2 pruning (target needs 1 of 5 heavy stages)" >&2
    cold_runs 2 "$dir" app
    summarize 2 "pruning: 1 of 5 x 3 s stages (cold)" "stages-buildkit ≤ 1.05× raw"
}

scenario_3() {
    local dir=$work/warm s prev run
    mkdir -p "$dir"
    echo "context file" >"$dir/src.txt"
    {
        printf '[project]\nname = "bench-warm"\n\n'
        for s in 1 2 3 4 5 6 7 8 9; do
            printf '[stages.s%s]\nfrom = "%s"\nworkdir = "/w"\nenv = { STAGE = "s%s" }\nsteps = [\n' "$s" "$base" "$s"
            printf '  { copy = "src.txt", to = "./" },\n'
            printf '  { run = "echo s%s > /w/out-s%s && cat src.txt >> /w/out-s%s" },\n' "$s" "$s" "$s"
            printf ']\n\n'
        done
        printf '[stages.final]\nfrom = "%s"\nsteps = [\n' "$base"
        for s in 1 2 3 4 5 6 7 8 9; do printf '  { copy = "/w/out-s%s", from = "s%s", to = "/in/" },\n' "$s" "$s"; done
        printf ']\ncmd = ["cat", "/in/out-s1"]\n\n[targets.final]\nstage = "final"\ntags = ["%s-warm:latest"]\n' "$id"
    } >"$dir/stages.toml"
    export_dockerfile "$dir"
    # The BuildKit back end skips the solve only while the target's tag
    # still names the image it recorded: it gets a copy of the project with
    # a tag of its own, which the other builders do not move.
    cp -r "$dir" "$dir-bk"
    sed -i "s|$id-warm:latest|$id-warm-bk:latest|" "$dir-bk/stages.toml"
    echo "3 warm no-op rebuild (10 stages)" >&2
    remove_images
    # Fill the caches once (untimed); then every run is a no-op.
    build_native "$dir" final "" >"$work/last.log" 2>&1
    build_stages_classic "$dir" final "" >"$work/last.log" 2>&1
    build_docker_classic "$dir" final "" >"$work/last.log" 2>&1
    build_stages_buildkit "$dir-bk" final "" >"$work/last.log" 2>&1
    build_raw_buildkit "$dir" final "" >"$work/last.log" 2>&1
    for run in $(seq 1 "$RUNS"); do
        timed 3.native build_native "$dir" final ""
        if ! grep -q cached "$work/last.log"; then
            echo "bench: the warm native build reported no cached step" >&2
            exit 1
        fi
        timed 3.stages-classic build_stages_classic "$dir" final ""
        timed 3.docker-classic build_docker_classic "$dir" final ""
        timed 3.stages-buildkit build_stages_buildkit "$dir-bk" final ""
        if ! grep -q "up to date" "$work/last.log"; then
            echo "bench: the warm BuildKit back end build was not up to date" >&2
            exit 1
        fi
        timed 3.raw-buildkit build_raw_buildkit "$dir" final ""
        echo "  run $run/$RUNS: native $(tail -1 "$work/times.3.native") ms," \
            "stages --backend dockerfile $(tail -1 "$work/times.3.stages-classic") ms," \
            "docker build $(tail -1 "$work/times.3.docker-classic") ms," \
            "stages --backend buildkit $(tail -1 "$work/times.3.stages-buildkit") ms," \
            "raw BuildKit $(tail -1 "$work/times.3.raw-buildkit") ms" >&2
    done
    remove_images
    summarize 3 "warm no-op rebuild, 10 stages" "stages-buildkit ≤ 0.3× raw"
}

# Bytes sent to the Engine, from the `sent` event of `--progress json`.
sent_bytes() { # dir target backend
    (cd "$1" && "$STAGES" build "$2" --backend "$3" --no-cache --progress json) |
        sed -n 's/.*"event":"sent".*"bytes":\([0-9]*\).*/\1/p; s/.*"bytes":\([0-9]*\).*"event":"sent".*/\1/p' | tail -1
}

scenario_4() {
    local dir=$work/context native_sent classic_sent tar_bytes docker_line
    mkdir -p "$dir"
    echo "the only file a COPY uses" >"$dir/used.txt"
    head -c $((200 * 1024 * 1024)) /dev/urandom >"$dir/unused.bin"
    cat >"$dir/stages.toml" <<EOF
[project]
name = "bench-context"

[stages.app]
from = "$base"
steps = [{ copy = "used.txt", to = "/used.txt" }]

[targets.app]
stage = "app"
tags = ["$id-context:latest"]
EOF
    export_dockerfile "$dir"
    echo "4 context (200 MB file no COPY uses)" >&2
    # What the docker CLI sends: the context as a tar (no .dockerignore here).
    tar_bytes=$(tar -C "$dir" -cf - . | wc -c)
    cold_runs 4 "$dir" app
    remove_images
    native_sent=$(sent_bytes "$dir" app native)
    remove_images
    classic_sent=$(sent_bytes "$dir" app dockerfile)
    remove_images
    buildkit_sent=$(sent_bytes "$dir" app buildkit)
    remove_images
    docker_line=$( (cd "$dir" && DOCKER_BUILDKIT=0 docker build --no-cache -t "$id-docker:app" . 2>&1) |
        grep -o 'Sending build context to Docker daemon *[0-9.]*[kMG]*B' | tail -1 || true)
    remove_images
    summarize 4 "context: 200 MB unused file (cold)" "stages-buildkit ≤ 1.05× raw"
    results+=("")
    results+=("Bytes sent to the Engine (scenario 4):")
    results+=("")
    results+=("| sender | bytes |")
    results+=("|---|---:|")
    results+=("| stages build (native): COPY uploads | $native_sent |")
    results+=("| stages build --backend dockerfile: context tar | $classic_sent |")
    results+=("| stages build --backend buildkit: files BuildKit asked for | $buildkit_sent |")
    results+=("| docker build (classic): \`tar -c . \| wc -c\` of the context | $tar_bytes |")
    results+=("| docker build (classic): its own report | ${docker_line#Sending build context to Docker daemon} |")
    results+=("")
}

scenario_5() {
    local dir=$work/quickstart app_id builder_id base_size app_size builder_size
    cp -r "$root/examples/quickstart" "$dir"
    rm -rf "$dir/dist"
    sed -i -e "s|busybox:stages-test|$base|" -e "s|stages-quickstart:latest|$id-quickstart:latest|" "$dir/stages.toml"
    echo "5 quickstart image size" >&2
    app_id=$(cd "$dir" && "$STAGES" build app --backend native --progress quiet)
    builder_id=$(cd "$dir" && "$STAGES" build builder --backend native --progress quiet)
    base_size=$(docker image inspect --format '{{.Size}}' "$base")
    app_size=$(docker image inspect --format '{{.Size}}' "$app_id")
    builder_size=$(docker image inspect --format '{{.Size}}' "$builder_id")
    results+=("")
    results+=("Image sizes (scenario 5, quickstart, native back end, \`docker image inspect --format {{.Size}}\`):")
    results+=("")
    results+=("| image | bytes | over the base |")
    results+=("|---|---:|---:|")
    results+=("| base (busybox:stages-test + a label) | $base_size | 0 |")
    results+=("| builder stage | $builder_size | $((builder_size - base_size)) |")
    results+=("| app (runtime stage, the target) | $app_size | $((app_size - base_size)) |")
    results+=("")
    remove_images
}

timing_header_done=0
summarize() { # scenario title goal
    local s=$1 n j c d b r
    n=$(med "$s.native")
    j="—"
    [ -f "$work/times.$s.native-extra" ] && j=$(med "$s.native-extra")
    c=$(med "$s.stages-classic")
    d=$(med "$s.docker-classic")
    b=$(med "$s.stages-buildkit")
    r=$(med "$s.raw-buildkit")
    if [ $timing_header_done = 0 ]; then
        results+=("| scenario | native ms | native --jobs 4 ms | stages-buildkit ms | raw BuildKit ms | stages --backend dockerfile ms | docker build (classic) ms | stages-buildkit / raw | native / raw | native --jobs 4 / raw | goal |")
        results+=("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        timing_header_done=1
    fi
    local jr="—"
    [ "$j" = "—" ] || jr=$(ratio "$j" "$r")
    results+=("$(printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |' "$2" "$n" "$j" "$b" "$r" "$c" "$d" "$(ratio "$b" "$r")" "$(ratio "$n" "$r")" "$jr" "$3")")
}

# The base: busybox:stages-test with the bench's label on top.
"$root/scripts/base-images.sh"
printf 'FROM busybox:stages-test\nLABEL %s\n' "$label" |
    DOCKER_BUILDKIT=0 docker build -q -t "$base" - >/dev/null 2>&1

buildkit="BuildKit: the Engine's own, through raw_buildkit and stages' session"

for s in "${scenarios[@]}"; do
    "scenario_$s"
done

echo
echo "stages: $STAGES ($binary_kind); RUNS=$RUNS, medians; $buildkit"
echo "machine: $(nproc) cores, $(free -g | awk '/^Mem:/ { print $2 }') GiB," \
    "kernel $(uname -r), Engine $(docker version --format '{{.Server.Version}}')," \
    "storage driver $(docker info --format '{{.Driver}}'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf '%s\n' "${results[@]}"
