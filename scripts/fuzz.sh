#!/usr/bin/env bash
# Runs the mutation tests of tests/fuzz.rs for as long as asked, one worker
# per core, each with its own seed; minimises and saves every distinct
# failure under fuzz-findings/ (git-ignored) and prints, at the end, the
# inputs run per command and the failures found.
#
#   scripts/fuzz.sh [SECONDS]        # default 600
#
# Environment: STAGES_FUZZ_JOBS (workers, default: the number of cores),
# STAGES_FUZZ_SEED (a fixed base seed), STAGES_FUZZ_PROFILE (release or
# debug, default release), STAGES_FUZZ_MINIMISE_SECONDS (per failure,
# default 60; all together at most four times that), STAGES_CORPUS (the corpus, default ../shared/corpus).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-600}"
case "$seconds" in
    '' | *[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS]" >&2; exit 2 ;;
esac
jobs="${STAGES_FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}"
profile="${STAGES_FUZZ_PROFILE:-release}"
profile_flag=()
[ "$profile" = release ] && profile_flag=(--release)

echo "building the fuzz harness ($profile)…" >&2
binary="$(cargo test "${profile_flag[@]}" --test fuzz --no-run --message-format=json 2>/dev/null |
    sed -n 's/.*"executable":"\([^"]*\/fuzz-[^"]*\)".*/\1/p' | tail -n 1)"
if [ -z "$binary" ] || [ ! -x "$binary" ]; then
    echo "cannot find the fuzz test binary" >&2
    exit 1
fi

mkdir -p fuzz-findings
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
echo "fuzzing for ${seconds} s with ${jobs} workers…" >&2
pids=()
for worker in $(seq 1 "$jobs"); do
    STAGES_FUZZ_SECONDS="$seconds" STAGES_FUZZ_WORKER="$worker" \
        "$binary" fuzz_for_duration --exact --ignored --nocapture --test-threads=1 -q \
        >"$logs/$worker.out" 2>"$logs/$worker.err" &
    pids+=("$!")
done
status=0
for pid in "${pids[@]}"; do
    wait "$pid" || status=1
done

echo
echo "inputs run per command:"
cat "$logs"/*.out | awk '$1 == "@summary" && $2 == "runs" { n[$3] += $4 }
    END { for (c in n) { printf "  %-26s %d\n", c, n[c]; total += n[c] }; printf "  %-26s %d\n", "(all commands)", total }' | sort
failures="$(cat "$logs"/*.out | grep -c '^@summary failure ' || true)"
echo "failures found: $failures"
if [ "$failures" -gt 0 ]; then
    cat "$logs"/*.out | sed -n 's/^@summary failure \(.*\) (seed.*/\1/p' | sort | uniq -c | sort -rn | sed 's/^/  /'
    echo "saved (input, minimised input, report.txt):"
    cat "$logs"/*.out | sed -n 's/^@summary saved /  /p'
fi
if [ "$status" != 0 ]; then
    echo "a worker did not finish cleanly:" >&2
    cat "$logs"/*.err >&2
    exit 1
fi
[ "$failures" = 0 ]
