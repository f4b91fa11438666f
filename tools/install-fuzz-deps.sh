#!/usr/bin/env bash
# Optional: what `make fuzz` needs beyond tools/install-deps.sh (clang's
# libFuzzer and sanitizer runtimes). Not part of CI.
set -eu
pkgs="clang libclang-rt-14-dev"
missing=""
for p in $pkgs; do
	dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "install-fuzz-deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq $missing >/dev/null
fi
