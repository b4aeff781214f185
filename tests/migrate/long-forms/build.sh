#!/bin/sh
set -e
docker image build --tag example/api:build --file Dockerfile.build .
docker container create --name api-extract example/api:build
docker container cp api-extract:/src/target/release/api ./api
docker container rm --force api-extract
docker image rm example/api:build
docker image build --tag example/api:1.0 --tag example/api:latest .
rm -f ./api
