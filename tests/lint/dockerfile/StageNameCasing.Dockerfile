FROM alpine:3.20 AS Builder
RUN true
