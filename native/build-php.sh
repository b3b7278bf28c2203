#!/usr/bin/env bash
# Finds or builds the ZTS libphp the addon links against, then prints its php-config path on the
# last line of stdout. Progress goes to stderr.
#
#   PHP_CONFIG=/path/to/php-config   use an existing build (must be ZTS with the embed SAPI)
#   PHP_VERSION, PHP_SHA256, PHP_TARBALL, PHP_DEBIAN_MIRROR, PHP_MIRROR   where the source comes
#                                    from: see native/fetch-php.sh (default: native/php-version.env)
#   TOKIO_PHP_CACHE=~/.cache/tokio-php   where builds are kept, one folder per version + flags
set -Eeuo pipefail

log() { printf '[tokio-php] %s\n' "$*" >&2; }
die() { printf '[tokio-php] error: %s\n' "$*" >&2; exit 1; }

# Refuses a libphp we cannot run threads on, saying why.
check_php_config() {
  local pc=$1
  [ -x "$pc" ] || die "PHP_CONFIG=$pc is not an executable php-config"
  local inc; inc=$("$pc" --include-dir)
  grep -q '^#define ZTS 1' "$inc/main/php_config.h" 2>/dev/null ||
    die "$pc describes a non-thread-safe (NTS) PHP. tokio-php runs PHP on several threads at once and needs a ZTS build (configure --enable-zts --enable-embed=shared)."
  "$pc" --php-sapis | tr ' ' '\n' | grep -qx embed ||
    die "$pc describes a PHP built without the embed SAPI (configure --enable-embed=shared)."
  [ -e "$("$pc" --prefix)/lib/libphp.so" ] ||
    die "$pc: no shared libphp.so in $("$pc" --prefix)/lib (configure --enable-embed=shared)."
}

if [ -n "${PHP_CONFIG:-}" ]; then
  check_php_config "$PHP_CONFIG"
  log "using PHP_CONFIG=$PHP_CONFIG ($("$PHP_CONFIG" --version))"
  echo "$PHP_CONFIG"; exit 0
fi

CONFIGURE_FLAGS=(
  --enable-zts --enable-embed=shared --disable-zend-signals --enable-zend-max-execution-timers
  --disable-cgi --disable-phpdbg --without-pear
  --enable-opcache --enable-mbstring --enable-bcmath --enable-intl --enable-exif
  --enable-calendar --enable-sockets
  --with-openssl --with-zlib --with-curl --with-sodium --with-zip
  --with-pdo-sqlite --with-sqlite3 --with-pdo-mysql=mysqlnd --with-mysqli=mysqlnd
  --with-pdo-pgsql --with-pgsql
  --enable-gd --with-jpeg --with-freetype --with-webp
)
FETCH_DEPS=(curl ca-certificates)
BUILD_DEPS=(build-essential patch pkg-config xz-utils libxml2-dev libsqlite3-dev libssl-dev zlib1g-dev
  libcurl4-openssl-dev libonig-dev libsodium-dev libicu-dev libzip-dev libpng-dev libjpeg-dev
  libfreetype-dev libwebp-dev libpq-dev)

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Small patches to PHP's source, each explained in its own header (native/php-patches/).
PATCHES=("$here"/php-patches/*.patch)
# A build is kept as php-<version>-zts-<key>; the key changes with the flags, the dependencies or the patches.
key=$( { printf '%s\n' "${CONFIGURE_FLAGS[@]}" "${BUILD_DEPS[@]}"; cat "${PATCHES[@]}"; } | sha256sum | cut -c1-12)
CACHE=${TOKIO_PHP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tokio-php}
PHP_VERSION=${PHP_VERSION:-$(sed -n 's/^PHP_VERSION=//p' "$here/php-version.env")}
PREFIX="$CACHE/php-$PHP_VERSION-zts-$key"
# A cached build needs no network at all.
if [ -e "$PREFIX/.complete" ]; then
  log "PHP $PHP_VERSION ZTS build found in cache: $PREFIX"
  echo "$PREFIX/bin/php-config"; exit 0
fi

missing=()
for p in "${BUILD_DEPS[@]}" "${FETCH_DEPS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || die "missing build packages (${missing[*]}) and no apt-get to install them"
  [ "$(id -u)" = 0 ] || die "missing build packages: ${missing[*]}. Install them (sudo apt-get install ${missing[*]}) or run as root."
  log "installing build packages: ${missing[*]}"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/tokio-php-build.XXXXXX")
trap 'rm -rf "$work"' EXIT

tarball=$(PHP_VERSION=$PHP_VERSION bash "$here/fetch-php.sh" "$work" | tail -n1)

log "unpacking $tarball"
mkdir -p "$work/src"
tar -xf "$tarball" -C "$work/src" --strip-components=1
cd "$work/src"
unpacked=$(sed -n 's/^#define PHP_VERSION "\(.*\)"/\1/p' main/php_version.h)
[ "$unpacked" = "$PHP_VERSION" ] || die "the tarball holds PHP $unpacked, not $PHP_VERSION"
for p in "${PATCHES[@]}"; do
  log "applying $(basename "$p")"
  patch -p1 --forward --quiet < "$p" >&2 || die "$(basename "$p") does not apply to PHP $PHP_VERSION: update the patch"
done
log "configuring (about a minute); log: $work/configure.log"
./configure --prefix="$PREFIX" "${CONFIGURE_FLAGS[@]}" > "$work/configure.log" 2>&1 ||
  { tail -n 30 "$work/configure.log" >&2; die "configure failed"; }

jobs=$(nproc 2>/dev/null || echo 2)
log "compiling with $jobs jobs (5-15 minutes on 2 cores); progress every 30 s"
make -j"$jobs" > "$work/make.log" 2>&1 &
mk=$!
total=$(grep -c '\.lo:' Makefile || echo 0)
while kill -0 "$mk" 2>/dev/null; do
  sleep 30 &
  wait $! || true
  done_n=$(find . -name '*.lo' -newer "$work/configure.log" 2>/dev/null | wc -l)
  kill -0 "$mk" 2>/dev/null && log "compiled $done_n of ~$total files"
done
wait "$mk" || { tail -n 40 "$work/make.log" >&2; die "make failed (see above)"; }

log "installing into $PREFIX"
rm -rf "$PREFIX"
make install > "$work/install.log" 2>&1 || { tail -n 30 "$work/install.log" >&2; die "make install failed"; }
# Keep the sources beside the build: main/SAPI.h, sapi/ and ext/ are the reference for SAPI work.
mkdir -p "$PREFIX/src" && tar -xf "$tarball" -C "$PREFIX/src" --strip-components=1
touch "$PREFIX/.complete"
check_php_config "$PREFIX/bin/php-config"
log "PHP $PHP_VERSION ZTS built: $PREFIX"
echo "$PREFIX/bin/php-config"
