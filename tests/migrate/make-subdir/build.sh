#!/bin/sh
# The images are built by the Makefile in docker/.
set -e
make -C docker IMAGE=example/tool image
echo done
