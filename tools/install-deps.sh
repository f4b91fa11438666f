#!/usr/bin/env bash
# Install leakwatch's Debian build and test dependencies when missing.
set -eu
# LW_DEPS: another package list (tools/install-fuzz-deps.sh passes its own)
# nginx-light and curl: the precision test attaches to a real, healthy nginx
# libcap2-bin (capsh) and procps (pgrep): e2e cases drop capabilities and find leakwatch by name
# redis-server and redis-tools: an e2e case attaches to redis, which mallocs through jemalloc
# memcached: an e2e case runs it, to exit from main while its threads sleep
# libjemalloc2, libtcmalloc-minimal4 and libmimalloc2.0: mem tests preload them (probe placement, exact leak counts)
# libiberty-dev (demangling), liblzma-dev (MiniDebugInfo), libdebuginfod-dev (debuginfod,
# dlopen'ed at run time), xz-utils (builds a MiniDebugInfo in a test), g++ (a C++ fixture)
pkgs=${LW_DEPS:-"make gcc g++ clang llvm libbpf-dev bpftool libelf-dev libdw-dev zlib1g-dev pkg-config python3 util-linux binutils libcapstone-dev libssl-dev libgnutls28-dev libglib2.0-dev nginx-light curl libcap2-bin procps redis-server redis-tools memcached libjemalloc2 libtcmalloc-minimal4 libmimalloc2.0 libiberty-dev liblzma-dev libdebuginfod-dev xz-utils"}
missing=""
for p in $pkgs; do
	dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "${0##*/}: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq $missing >/dev/null
fi
