#!/bin/sh
docker build --build-arg https_proxy=$https_proxy --build-arg http_proxy \
  --build-arg GO_VERSION=1.21 -t app:build -f Dockerfile.build .
docker create --name extract app:build
docker cp extract:/app/server server
docker rm -f extract
docker build --build-arg https_proxy=$https_proxy --build-arg BASE=alpine:3.19 -t app .
