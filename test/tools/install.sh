#!/usr/bin/env bash
# What the tests need beyond npm: Prometheus's promtool, which checks the /metrics exposition.
# Installed with apt-get when missing (as root on Debian/Ubuntu); otherwise says what to do.
set -euo pipefail
command -v promtool >/dev/null && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "[test] installing promtool (Debian's prometheus package)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }
  exit 0
fi
echo "[test] promtool is missing: install Debian's prometheus package (sudo apt-get install prometheus)" >&2
exit 1
