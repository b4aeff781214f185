#!/bin/sh
docker build -t docs:build -f Dockerfile.build .
docker create --name docs-build docs:build
docker cp docs-build:/docs/_build/html ./html
docker cp docs-build:/docs/_build/man/tool.1 conf/tool.1
docker rm docs-build
docker build -t docs:latest .
