#!/bin/sh
# The builder packs its output as a tarball on standard output.
set -e
docker build -t pkg:build -f Dockerfile.build .
mkdir -p out
docker run --rm pkg:build tar -c -C /pkg share > out/pkg.tar
