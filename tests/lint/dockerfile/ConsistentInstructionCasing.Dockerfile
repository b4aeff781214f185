FROM alpine:3.20
RUN true
copy . /src
