FROM busybox
COPY app.conf secret.txt /etc/app/
ADD ./build/out.tar /opt/
