from alpine:3.20
run true
copy . /src
