#!/bin/sh
set -e
docker build -t app:build -f Dockerfile.build .
mkdir -p dist conf
docker run --rm app:build tar -c -C /opt/app bin lib share/doc | tar -x -C dist
docker run --rm app:build tar -czf - /etc/app.conf | tar -xzf - -C conf
docker build -t app:latest .
