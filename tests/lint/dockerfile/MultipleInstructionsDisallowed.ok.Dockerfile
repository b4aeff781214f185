FROM alpine:3.20 AS a
CMD ["a"]

FROM a
CMD ["b"]
