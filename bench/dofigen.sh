#!/usr/bin/env bash
# Side by side: `stages import` and Dofigen's `dofigen parse` over the same
# corpus Dockerfiles (every real/ file, and the buildkit-integration cases
# BuildKit accepts at the stage level). For each tool it prints how many
# files convert, and how many of those come back, after generating a
# Dockerfile again, with the same BuildKit reading.
#
# "Same reading" here is deliberately simple and the same for both tools:
# the `stages dockerfile dump` lines of both files, with `AS <name>` dropped
# from FROM lines and tags, digests and a `docker.io/[library/]` prefix
# dropped from FROM images, compared as
# sorted lists. (tests/roundtrip.rs compares stage by stage with the
# normalisations of docs/roundtrip.md; this is a coarser, tool-neutral check.)
#
# Dofigen's `generate` resolves every image tag to a digest through a
# registry; with no registry reachable it only works `--offline` on
# digest-pinned images. So before generating, the script pins each
# `fromImage` of the Dofigen file to a placeholder digest (python3 + PyYAML);
# that is why the reading ignores tags and digests, for both tools alike.
#
# Needs: a built `stages` (STAGES, default target/debug/stages), and for
# the Dofigen column `dofigen` on PATH (`cargo install --locked dofigen`,
# outside the project) and python3 with PyYAML.
# Usage: bench/dofigen.sh [CORPUS_DIR]
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
corpus=${1:-${STAGES_CORPUS:-$root/../shared/corpus}}
stages=${STAGES:-$root/target/debug/stages}
[ -d "$corpus" ] || { echo "corpus not found: $corpus" >&2; exit 2; }
[ -x "$stages" ] || { echo "stages not built: $stages (cargo build)" >&2; exit 2; }
have_dofigen=1
command -v dofigen >/dev/null || { echo "dofigen not on PATH: its row is left out" >&2; have_dofigen=0; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The reading: dump lines; FROM without its stage name and its image
# without tag or digest; sorted.
reading() {
  "$stages" dockerfile dump "$1" 2>/dev/null \
    | sed -E 's/^\(from (.*) "[aA][sS]" "[^"]*"\)$/(from \1)/' \
    | sed -E 's/^\(from (\[[^]]*\] )?"([^"@]*\/)?([^"/:@]*)[:@][^"]*"/(from \1"\2\3"/' \
    | sed -E 's/^\(from (\[[^]]*\] )?"docker\.io\/(library\/)?/(from \1"/' \
    | LC_ALL=C sort
}

# Pins every fromImage of a Dofigen file to a placeholder digest.
pin_images() {
  python3 -c '
import sys, yaml
path = sys.argv[1]
with open(path) as f:
    doc = yaml.safe_load(f)
def walk(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "fromImage" and isinstance(value, dict):
                value.pop("tag", None)
                value["digest"] = "sha256:" + "0" * 64
            walk(value)
    elif isinstance(node, list):
        for item in node:
            walk(item)
walk(doc)
with open(path, "w") as f:
    yaml.safe_dump(doc, f)
' "$1"
}

files=()
for f in "$corpus"/real/*; do
  case $(basename "$f") in MANIFEST.tsv|LICENSE*|NOTICE*|expected) continue ;; esac
  [ -f "$f" ] && files+=("$f")
done
for d in "$corpus"/buildkit-integration/*/; do
  [ -f "$d/Dockerfile" ] || continue
  grep -q '"stages_error"' "$d/ast.json" 2>/dev/null && continue
  files+=("$d/Dockerfile")
done

total=${#files[@]}
s_conv=0 s_same=0 d_conv=0 d_same=0
s_time=0 d_time=0
now() { date +%s%N; }
for f in "${files[@]}"; do
  dir=$work/case
  rm -rf "$dir"; mkdir -p "$dir"
  cp "$f" "$dir/Dockerfile"
  want=$(reading "$dir/Dockerfile")

  t0=$(now)
  if timeout 30 "$stages" import "$dir/Dockerfile" -o "$dir/stages.toml" >/dev/null 2>&1; then
    s_conv=$((s_conv + 1))
    if timeout 30 "$stages" export-dockerfile --all-stages -f "$dir/stages.toml" -o - >"$dir/from-stages" 2>/dev/null \
      && [ "$(reading "$dir/from-stages")" = "$want" ]; then
      s_same=$((s_same + 1))
    fi
  fi
  s_time=$((s_time + $(now) - t0))

  if [ "$have_dofigen" = 1 ]; then
    t0=$(now)
    # Dofigen aborts (panics) on some inputs; the subshell keeps the noise out.
    if (cd "$dir" && timeout 30 dofigen parse -f Dockerfile -o dofigen.yml >/dev/null 2>&1) 2>/dev/null; then
      d_conv=$((d_conv + 1))
      if pin_images "$dir/dofigen.yml" 2>/dev/null \
        && (cd "$dir" && timeout 30 dofigen generate --offline --no-labels -f dofigen.yml -o from-dofigen >/dev/null 2>&1) 2>/dev/null \
        && [ "$(reading "$dir/from-dofigen")" = "$want" ]; then
        d_same=$((d_same + 1))
      fi
    fi
    d_time=$((d_time + $(now) - t0))
  fi
done

printf '%-8s %6s %9s %12s %10s\n' tool files converts round-trips "time(ms)"
printf '%-8s %6d %9d %12d %10d\n' stages "$total" "$s_conv" "$s_same" $((s_time / 1000000))
if [ "$have_dofigen" = 1 ]; then
  printf '%-8s %6d %9d %12d %10d\n' dofigen "$total" "$d_conv" "$d_same" $((d_time / 1000000))
fi
