#!/usr/bin/env bash
# The Debian packages holding the shared libraries that the given ELF files load (libphp.so, the
# addon, PHP's extensions): what the image's runtime stage installs, derived from the build
# itself rather than kept by hand beside it.
set -Eeuo pipefail
for elf in "$@"; do ldd "$elf"; done \
  | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u \
  | while read -r lib; do
      real=$(readlink -f "$lib")
      dpkg -S "$real" 2>/dev/null || dpkg -S "/usr${real#/usr}" 2>/dev/null || dpkg -S "${real#/usr}" 2>/dev/null || true
    done \
  | cut -d: -f1 | sort -u
