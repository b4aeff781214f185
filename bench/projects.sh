#!/usr/bin/env bash
# Real projects, timed: every build of every project of the corpus
# (projects/manifest.json), cold (`--no-cache`) and warm (the same build
# again, nothing changed), with the Engine's classic builder
# (`DOCKER_BUILDKIT=0 docker build` on the original Dockerfile) and with
# each back end `stages build` offers (after `stages import`), in the same
# run, alternating builders; medians of RUNS (default 3; WARM_RUNS warm
# rebuilds, default 1, follow each cold build). Prints a Markdown
# table; it asserts nothing (tests/equivalence_projects.rs checks the
# images are the same).
#
# Each builder's images are tagged `stages-bench-<pid>-…` and removed after
# its runs, with the intermediate images the classic builder printed for the
# steps it ran, the stage images `--backend dockerfile` made (asked back from
# its cache) and the native back end's cache entries (`stages cache prune`);
# nothing else on the Engine is touched.
#
# Needs: a Docker Engine, the corpus (../shared/corpus or STAGES_CORPUS),
# its base images (scripts/base-images.sh --projects), python3 (to read the
# manifest), a built `stages` (STAGES, default target/release/stages if
# present, else target/debug/stages).
# Usage: bench/projects.sh [PROJECT…]   (names from manifest.json)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${RUNS:-3}
# Warm rebuilds after each cold build: warm builds take seconds where cold
# ones take minutes, so their medians can come from more runs for little.
WARM_RUNS=${WARM_RUNS:-1}
if [ -z "${STAGES:-}" ]; then
    if [ -x "$root/target/release/stages" ]; then
        STAGES=$root/target/release/stages
    else
        STAGES=$root/target/debug/stages
    fi
fi
[ -x "$STAGES" ] || { echo "stages not built: $STAGES (cargo build --locked)" >&2; exit 2; }
corpus=${STAGES_CORPUS:-$root/../shared/corpus}
projects="$corpus/projects"
[ -f "$projects/manifest.json" ] || { echo "no corpus at $corpus (set STAGES_CORPUS)" >&2; exit 2; }

"$root/scripts/base-images.sh" --projects

id="stages-bench-$$"
work=$(mktemp -d)
export DOCKER_BUILDKIT=0

# The back ends this stages offers, from `stages build --help`.
backends=()
for b in native dockerfile buildkit; do
    if "$STAGES" build --help | grep -Eq "^ *- $b:|possible values:.*\b$b\b"; then
        backends+=("$b")
    fi
done
builders=(classic "${backends[@]}")

# One line per build: project|dir|buildkit_only|index|tag|context|dockerfile|target|args
# (args as KEY=VALUE separated by spaces).
builds() {
    python3 - "$projects/manifest.json" "$@" <<'PY'
import json, sys
manifest = json.load(open(sys.argv[1]))
only = set(sys.argv[2:])
for p in manifest["projects"]:
    if only and p["name"] not in only:
        continue
    for i, b in enumerate(p["builds"]):
        args = " ".join(f"{k}={v}" for k, v in b.get("build_args", {}).items())
        print("|".join([p["name"], p["dir"], "1" if p.get("buildkit_only") else "0", str(i),
                        b["tag"], b["context"], b["dockerfile"], b.get("target") or "", args]))
PY
}

# Per builder: tags and image ids to remove; stages dirs to prune.
created=()
stages_dirs=()
cleanup_builder() {
    local d i pass
    for d in "${stages_dirs[@]}"; do (cd "$d" && "$STAGES" cache prune >/dev/null 2>&1) || true; done
    for pass in 1 2 3 4; do
        for i in "${created[@]}"; do docker rmi "$i" >/dev/null 2>&1 || true; done
    done
    created=()
    stages_dirs=()
}
cleanup() {
    cleanup_builder
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ms() { echo $(($(date +%s%N) / 1000000)); }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

# The ids of images the classic builder made for steps it ran (not FROM,
# not "Using cache").
classic_ids() {
    awk '
        /^Step [0-9]+\/[0-9]+ : / { split($0, a, " : "); split(a[2], w, " "); skip = (toupper(w[1]) == "FROM"); next }
        /^ ---> Using cache/ { skip = 1; next }
        /^ ---> [0-9a-f]+$/ { if (!skip) print $2; next }
    ' "$1"
}

# Prepares $work/<project>/src (a copy) and stages-<i>/stages.toml (imported,
# the context named in [project], so stages.toml stays out of `COPY . .`).
prepare() { # project dir index dockerfile context
    local w=$work/$1
    [ -d "$w/src" ] || cp -a "$projects/$2" "$w/src"
    mkdir -p "$w/stages-$3"
    if [ ! -f "$w/stages-$3/stages.toml" ]; then
        "$STAGES" import "$w/src/$4" -o "$w/stages-$3/stages.toml" >/dev/null 2>&1 || return 1
        # Import writes a [project] table of its own (its default target)
        # when the Dockerfile has several final stages.
        if grep -qx '\[project\]' "$w/stages-$3/stages.toml"; then
            sed -i "0,/^\[project\]\$/s||[project]\ncontext = \"../src/$5\"|" "$w/stages-$3/stages.toml"
        else
            printf '\n[project]\ncontext = "../src/%s"\n' "$5" >>"$w/stages-$3/stages.toml"
        fi
    fi
}

# The stage `docker build` builds: the target, else the last stage.
last_stage() { sed -n 's/^\[stages\.\([^]]*\)\]$/\1/p' "$1" | tail -1 | tr -d '"'; }

# build_once BUILDER PROJECT DIR INDEX CONTEXT DOCKERFILE TARGET ARGS MODE
# sets ms to the elapsed milliseconds, or "fail" (not in a subshell: it
# records what it created).
build_once() {
    local builder=$1 proj=$2 dir=$3 index=$4 context=$5 dockerfile=$6 target=$7 args=$8 mode=$9
    local w=$work/$proj tag="$id-$proj-$index:$builder" start end a flags=() bargs=() log=$work/last.log
    for a in $args; do
        # A build argument naming an earlier build's tag names this builder's image of it.
        local value=${a#*=} key=${a%%=*} j
        for j in $(seq 0 $((index - 1))); do
            [ "$value" = "$(tag_of "$proj" "$j")" ] && value="$id-$proj-$j:$builder"
        done
        bargs+=(--build-arg "$key=$value")
    done
    [ "$mode" = cold ] && flags=(--no-cache)
    start=$(now_ms)
    if [ "$builder" = classic ]; then
        (cd "$w/src" && docker build "${flags[@]}" -t "$tag" "${bargs[@]}" ${target:+--target "$target"} -f "$dockerfile" "$context") >"$log" 2>&1 || { ms=fail; return; }
        end=$(now_ms)
        mapfile -t -O "${#created[@]}" created < <(classic_ids "$log")
    else
        local t=${target:-$(last_stage "$w/stages-$index/stages.toml")} image s
        image=$( (cd "$w/stages-$index" && "$STAGES" build "$t" --backend "$builder" --progress quiet "${flags[@]}" "${bargs[@]}") 2>"$log" | tail -1) || { ms=fail; return; }
        end=$(now_ms)
        docker tag "$image" "$tag"
        stages_dirs+=("$w/stages-$index")
        created+=("$image")
        if [ "$builder" = dockerfile ]; then
            # Stage images the classic builder left: ask them back from its cache.
            for s in $( (cd "$w/stages-$index" && "$STAGES" plan "$t") | sed -n '/^waves:/,/^[^ ]/s/^  [0-9]*: //p' | tr ',' ' '); do
                [ "$s" = "$t" ] && continue
                created+=("$( (cd "$w/stages-$index" && "$STAGES" build "$s" --backend dockerfile --progress quiet "${bargs[@]}") 2>/dev/null | tail -1)")
            done
        fi
    fi
    created+=("$tag")
    ms=$((end - start))
}

declare -A manifest_tags
tag_of() { echo "${manifest_tags[$1/$2]}"; }

mapfile -t lines < <(builds "$@")
for line in "${lines[@]}"; do
    IFS='|' read -r proj dir bk index tag context dockerfile target args <<<"$line"
    manifest_tags[$proj/$index]=$tag
    mkdir -p "$work/$proj"
    prepare "$proj" "$dir" "$index" "$dockerfile" "$context" || echo "bench: stages import failed for $proj build $index" >&2
done

projects_seen=$(printf '%s\n' "${lines[@]}" | cut -d'|' -f1 | uniq)
for run in $(seq 1 "$RUNS"); do
    for proj in $projects_seen; do
        for builder in "${builders[@]}"; do
            for mode in cold $(printf 'warm %.0s' $(seq 1 "$WARM_RUNS")); do
                for line in "${lines[@]}"; do
                    IFS='|' read -r p dir bk index tag context dockerfile target args <<<"$line"
                    [ "$p" = "$proj" ] || continue
                    build_once "$builder" "$proj" "$dir" "$index" "$context" "$dockerfile" "$target" "$args" "$mode"
                    echo "$ms" >>"$work/times.$proj.$index.$builder.$mode"
                    echo "  run $run/$RUNS $proj build $index ($tag) $builder $mode: $ms ms" >&2
                done
            done
            cleanup_builder
        done
    done
done

med() {
    local f=$work/times.$1
    if grep -q fail "$f"; then echo "fails"; else median <"$f"; fi
}

echo
echo "stages: $STAGES; RUNS=$RUNS, WARM_RUNS=$WARM_RUNS, medians in ms; builders: ${builders[*]}"
echo "machine: $(nproc) cores, $(free -g | awk '/^Mem:/ { print $2 }') GiB," \
    "Engine $(docker version --format '{{.Server.Version}}'), storage driver $(docker info --format '{{.Driver}}')," \
    "load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
header="| project | build |"
rule="|---|---|"
for b in "${builders[@]}"; do
    header+=" $b cold | $b warm |"
    rule+="---:|---:|"
done
echo "$header"
echo "$rule"
for line in "${lines[@]}"; do
    IFS='|' read -r proj dir bk index tag context dockerfile target args <<<"$line"
    row="| $proj | $tag |"
    for b in "${builders[@]}"; do
        row+=" $(med "$proj.$index.$b.cold") | $(med "$proj.$index.$b.warm") |"
    done
    echo "$row"
done
