#!/bin/sh
set -e
docker image build --file Dockerfile.build --tag tool:build .
docker container create --name extract tool:build
docker container cp extract:/out/tool ./tool
docker container rm extract
docker buildx --builder ci build --load --push -t acme/tool:1.0 .
