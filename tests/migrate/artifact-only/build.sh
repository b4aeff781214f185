#!/bin/sh
# No runtime image: the release tarball and checksums go to release/.
set -e
docker build -t cli-release -f Dockerfile.build .
mkdir -p release
docker create --name release cli-release
docker cp release:/dist/cli-linux-amd64.tar.gz release/
docker rm release
