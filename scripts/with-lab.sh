#!/usr/bin/env bash
# Runs a command while holding the virtual-lab lock (see test/lab/lab-lock.ts), with the lab up:
#   scripts/with-lab.sh npx tcplab run lost-fin --lab local
set -euo pipefail
lock=/tmp/tcplab-virtual-lab.lock
until mkdir "$lock" 2>/dev/null; do
  pid=$(cat "$lock/pid" 2>/dev/null || true)
  if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then rm -rf "$lock"; continue; fi
  sleep 1
done
echo $$ >"$lock/pid"
# Lab test runs (test/lab/lab-lock.ts) started under this script see the lock as already theirs.
export TCPLAB_LAB_LOCK_HOLDER=$$
trap 'rm -rf "$lock"' EXIT
bash "$(dirname "$0")/../resources/virtual-lab.sh" up >/dev/null
"$@"
