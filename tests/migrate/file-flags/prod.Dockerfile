FROM gcr.io/distroless/static
COPY tool /tool
CMD ["/tool"]
