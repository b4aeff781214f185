#!/bin/bash
# The builder Dockerfile is named build.Dockerfile; -f comes after the context.
docker build -t tool:builder . -f build.Dockerfile
docker create --name tmp tool:builder
docker cp tmp:/go/bin/tool .
docker rm tmp
docker build --file=prod.Dockerfile -t tool:latest .
