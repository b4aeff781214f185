FROM alpine:3.20 AS base
RUN true

FROM alpine:3.20 AS base
RUN true
