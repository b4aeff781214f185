FROM busybox AS build
RUN mkdir /build && touch /build/out

FROM busybox
COPY app.conf /etc/app/
COPY --from=build /build/out /opt/
ADD https://example.com/secret.txt /opt/
