FROM alpine:3.20
# check=skip=LegacyKeyValueFormat
ENV MODE production
ENV LEVEL=2
