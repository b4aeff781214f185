#!/bin/bash
set -euo pipefail
docker build -t server-builder -f Dockerfile.build .
docker create --name compile -w /src -e CGO_ENABLED=0 server-builder release
docker start -a compile
docker cp compile:/src/out/server bin/server
docker rm compile
docker build -t acme/server:2.1 .
