#!/bin/sh
# deploy/build.sh OUT: the release build of the gatehouse binary, written to OUT.
#
# The one build command of the container image: the Dockerfile's build stage
# runs it, and CI runs it too (deploy/image_test.go), checking that the result
# is a static binary that starts. Change the build here, never in the
# Dockerfile.
#
# Static (CGO_ENABLED=0: the SQLite driver is pure Go), reproducible paths
# (-trimpath), no symbol table or DWARF (-s -w; panics keep their stack
# traces). The version 'gatehouse version' prints is GATEHOUSE_VERSION when
# set (docker build --build-arg GATEHOUSE_VERSION=v1.2.3), else the build
# information Go records (see cmd/gatehouse/version.go): the module version
# for a tagged build, else "devel", with the VCS revision when the source
# tree has its .git (the Docker build context has none).
set -eu
if [ $# -ne 1 ] || [ -z "$1" ]; then
	echo "usage: deploy/build.sh OUT" >&2
	exit 2
fi
out=$1
case $out in
/*) ;;
*) out=$(pwd)/$out ;;
esac
cd "$(dirname "$0")/.."
case ${GATEHOUSE_VERSION:-} in
*[!A-Za-z0-9.+_-]*)
	echo "deploy/build.sh: GATEHOUSE_VERSION=$GATEHOUSE_VERSION: use letters, digits and . + _ - only (v1.2.3)" >&2
	exit 2
	;;
esac
# -tags grpcnotrace: gRPC (linked for the OTLP exporters) leaves out its
# golang.org/x/net/trace support, whose init registers /debug/requests on
# http.DefaultServeMux and renders it with html/template; a reachable
# template execution turns off the linker's dead code elimination of methods
# (52 MB instead of 39 MB; internal/linkcheck checks it stays off the binary).
CGO_ENABLED=0 exec go build -trimpath -tags grpcnotrace -ldflags="-s -w -X main.release=${GATEHOUSE_VERSION:-}" -o "$out" ./cmd/gatehouse
