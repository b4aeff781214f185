#!/bin/sh
# The builder image's CMD produces the output when a container runs it.
set -e
docker build -t greeter:build -f Dockerfile.build .
docker run --name=builder greeter:build
docker cp builder:/out/GREETING .
docker rm builder
docker build -t greeter:latest .
rm GREETING
