FROM --platform=linux/amd64 alpine:3.20 AS build-amd64
