FROM --platform=linux/arm64 arm64v8/busybox AS tools-arm64
RUN true

FROM busybox
COPY --from=tools-arm64 /bin/busybox /opt/
