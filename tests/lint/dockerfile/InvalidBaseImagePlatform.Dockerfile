FROM arm64v8/busybox AS tools
RUN true
