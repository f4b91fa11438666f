#!/usr/bin/env bash
# Optional: what `make fuzz` needs beyond tools/install-deps.sh (clang's
# libFuzzer and sanitizer runtimes). Not part of CI.
set -eu
LW_DEPS="clang libclang-rt-14-dev" exec bash "$(dirname "$0")/install-deps.sh"
