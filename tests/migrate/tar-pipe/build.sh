#!/bin/sh
set -e
docker build -f Dockerfile.build -t site:build .
rm -rf dist && mkdir -p dist
docker run --rm site:build tar -c -C /site/public . | tar -x -C dist
docker run --rm --entrypoint cat site:build /site/VERSION > VERSION
docker build -t site:latest .
