FROM golang:1.22
WORKDIR /go/src/tool
COPY main.go .
RUN go build -o /go/bin/tool .
