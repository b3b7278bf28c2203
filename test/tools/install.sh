#!/usr/bin/env bash
# What the tests need beyond npm, from Debian's packages: Prometheus's promtool, which checks the
# /metrics exposition, Symfony's HttpKernel and Routing, a real framework booted in worker mode,
# PostgreSQL's server (initdb, pg_ctl), which test/pgsql.test.ts starts in a temporary cluster,
# nginx (nginx-light), in front of a Unix socket in test/listen.test.ts and of FastCGI in
# test/fastcgi.test.ts with cgi-fcgi (libfcgi-bin) and php-fpm (the reference); clang-format, which
# `npm run lint` checks the C and C++ with; and (as root) iproute2 and curl, for a client that is
# not on loopback. Installed with apt-get when missing (as root on Debian/Ubuntu); otherwise says
# what to do.
set -euo pipefail
missing=()
command -v promtool >/dev/null || missing+=(prometheus)
command -v clang-format >/dev/null || missing+=(clang-format)
# a client in another network namespace (ip netns, a veth pair): the test needs root, else skips
if [ "$(id -u)" = 0 ]; then
  command -v ip >/dev/null || missing+=(iproute2)
  command -v curl >/dev/null || missing+=(curl)
fi
[ -f /usr/share/php/Symfony/Component/HttpKernel/autoload.php ] || missing+=(php-symfony-http-kernel)
[ -f /usr/share/php/Symfony/Component/Routing/autoload.php ] || missing+=(php-symfony-routing)
compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null || missing+=(postgresql)
[ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v cgi-fcgi >/dev/null || missing+=(libfcgi-bin)
compgen -G '/usr/sbin/php-fpm*' >/dev/null || missing+=(php-fpm)
[ ${#missing[@]} = 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "[test] installing ${missing[*]} (Debian's packages)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
  exit 0
fi
echo "[test] missing: ${missing[*]}: install Debian's packages (sudo apt-get install ${missing[*]})" >&2
exit 1
