#!/bin/sh
# Collects the documents the build made, without a runtime image.
set -e
docker build -t docs:build -f Dockerfile.build .
mkdir -p site
docker run --rm docs:build sh -c "cd /out && find . -name '*.md' | xargs tar -c" | tar --extract --directory=site
