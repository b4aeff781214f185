#!/bin/sh
# Developers run this; the images are built by the Makefile.
set -e
make image
./run-tests.sh
