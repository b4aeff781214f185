FROM alpine:3.20
RUN apk add \
    # a comment line is not empty
    curl
