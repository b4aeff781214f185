#!/usr/bin/env bash
set -euo pipefail

IMAGE=registry.example.com/team/web
VERSION="${VERSION:-2.4.1}"
BUILDER="$IMAGE:builder-$VERSION"

echo "Building $BUILDER"
docker build \
  -t "$BUILDER" \
  -f Dockerfile.build \
  .

mkdir -p bin
ID=$(docker create "$BUILDER")
docker cp "$ID":/usr/src/web/web ./bin/web
docker rm -v "$ID"

docker build -t "$IMAGE:$VERSION" -t "$IMAGE:latest" .
rm -rf bin
