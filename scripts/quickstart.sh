#!/usr/bin/env bash
# The main job on a fresh machine: make the local base image if it is missing,
# build examples/quickstart for real with `stages build` (an image target and
# an artifact target), then compare the builder stage with the runtime image.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "quickstart: making the base image busybox:stages-test if it is missing (scripts/base-images.sh)" >&2
bash scripts/base-images.sh
# A first build compiles every dependency: several minutes on two cores.
# Cargo's own progress shows how far it has got.
echo "quickstart: building stages (cargo build --locked; a first build takes several minutes on 2 cores)" >&2
cargo build --locked
stages=./target/debug/stages
config=examples/quickstart/stages.toml

echo "quickstart: building examples/quickstart with stages" >&2
"$stages" build -f "$config" --progress plain "$@"

# A stage name is also a target: build both stages untagged to compare them.
mapfile -t ids < <("$stages" build -f "$config" builder runtime --progress quiet)
builder=${ids[0]}
runtime=${ids[1]}
size() { docker image inspect --format '{{.Size}}' "$1"; }
echo
echo "image sizes:"
printf '  builder stage  %10s bytes  %s\n' "$(size "$builder")" "$builder"
printf '  runtime image  %10s bytes  %s\n' "$(size "$runtime")" "$runtime"
echo "artifacts on the host:"
ls -l examples/quickstart/dist/
docker run --rm stages-quickstart:latest
