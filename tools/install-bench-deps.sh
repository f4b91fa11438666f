#!/usr/bin/env bash
# Optional: what `make bench` compares against, beyond tools/install-deps.sh
# (which has nginx-light, curl and redis): valgrind and heaptrack (startup and
# the sqlite3 workload), wrk (nginx), sqlite3. Not part of CI.
set -eu
LW_DEPS="valgrind heaptrack wrk sqlite3 nginx-light curl redis-server redis-tools" exec bash "$(dirname "$0")/install-deps.sh"
