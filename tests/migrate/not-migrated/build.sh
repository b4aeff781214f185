#!/bin/bash
set -e
VERSION=$(git describe --tags)
docker build -t cli:build -f Dockerfile.build .
docker create --name out cli:build
docker cp out:/out/cli.tar.gz ./release/cli.tar.gz
docker cp out:/out/cli ./release/cli-$VERSION
docker rm out
for arch in amd64 arm64; do
  docker build --platform linux/$arch -t cli:$arch .
done
docker run --rm -v "$PWD/cache:/cache" cli:build make cache
docker build --secret id=npm,src=.npmrc -t cli:latest .
docker push cli:latest
curl -fsSL https://example.com/notify
