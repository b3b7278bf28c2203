#!/usr/bin/env bash
# Finds or builds the ZTS libphp the addon links against, then prints its php-config path on the
# last line of stdout. Progress goes to stderr.
#
#   PHP_CONFIG=/path/to/php-config   use an existing build (must be ZTS with the embed SAPI)
#   PHP_TARBALL=/path/php-8.4.x.tar.xz   build from this tarball
#   PHP_VERSION=8.4.x                a version to insist on (default: the newest 8.4 Debian publishes,
#                                    or the newest one already in the cache)
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
  --enable-gd --with-jpeg --with-freetype --with-webp
)
BUILD_DEPS=(build-essential pkg-config xz-utils libxml2-dev libsqlite3-dev libssl-dev zlib1g-dev
  libcurl4-openssl-dev libonig-dev libsodium-dev libicu-dev libzip-dev libpng-dev libjpeg-dev
  libfreetype-dev libwebp-dev)

# A build is kept as php-<version>-zts-<key>; the key changes with the flags or the dependencies.
key=$(printf '%s\n' "${CONFIGURE_FLAGS[@]}" "${BUILD_DEPS[@]}" | sha256sum | cut -c1-12)
CACHE=${TOKIO_PHP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tokio-php}
cached=$(ls -d "$CACHE"/php-${PHP_VERSION:-8.4.*}-zts-"$key"/.complete 2>/dev/null | sort -V | tail -n1 || true)
if [ -n "$cached" ]; then
  log "PHP ZTS build found in cache: ${cached%/.complete}"
  echo "${cached%/.complete}/bin/php-config"; exit 0
fi

missing=()
for p in "${BUILD_DEPS[@]}"; do
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

# Sources in order: a local tarball, Debian's php8.4 source package, php.net.
fetch_debian() {
  local d="$work/apt"; mkdir -p "$d/lists/partial" "$d/parts"
  # Ubuntu does not ship Debian's archive key by default
  if [ ! -e /usr/share/keyrings/debian-archive-keyring.gpg ] && [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debian-archive-keyring >&2 || return 1
  fi
  echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" > "$d/sources.list"
  local opts=(-o "Dir::Etc::SourceList=$d/sources.list" -o "Dir::Etc::SourceParts=$d/parts"
              -o "Dir::State::Lists=$d/lists" -o "Debug::NoDropPrivs=1" -o "APT::Sandbox::User=root")
  apt-get "${opts[@]}" update -qq >&2 || return 1
  (cd "$d" && apt-get "${opts[@]}" source --download-only "php8.4${PHP_VERSION:+=$(debian_version "${opts[@]}")}" >&2) || return 1
  ls "$d"/php8.4_*.orig.tar.* 2>/dev/null | head -n1
}
# Debian's full version string (8.4.24-1~deb13u1) for the upstream PHP_VERSION asked for.
debian_version() {
  apt-cache "$@" showsrc php8.4 2>/dev/null | sed -n 's/^Version: //p' | grep -m1 "^$PHP_VERSION-" || echo "$PHP_VERSION-0"
}
fetch_phpnet() {
  PHP_VERSION=${PHP_VERSION:-8.4.24}
  local t="$work/php-$PHP_VERSION.tar.xz"
  command -v curl >/dev/null || return 1
  curl -fsSL --retry 2 -o "$t" "https://www.php.net/distributions/php-$PHP_VERSION.tar.xz" >&2 || return 1
  echo "$t"
}
if [ -n "${PHP_TARBALL:-}" ]; then
  [ -f "$PHP_TARBALL" ] || die "PHP_TARBALL=$PHP_TARBALL does not exist"
  tarball=$PHP_TARBALL
else
  log "fetching PHP ${PHP_VERSION:-8.4} from Debian's php8.4 source package"
  tarball=$(fetch_debian) || tarball=""
  if [ -z "$tarball" ]; then
    log "Debian's source package is out of reach or has no ${PHP_VERSION:-8.4}; trying php.net"
    tarball=$(fetch_phpnet) || die "could not get PHP ${PHP_VERSION:-8.4} source: set PHP_TARBALL to a local php-8.4.x.tar.xz, or PHP_CONFIG to an existing ZTS build"
  fi
fi

log "unpacking $tarball"
mkdir -p "$work/src"
tar -xf "$tarball" -C "$work/src" --strip-components=1
cd "$work/src"
PHP_VERSION=$(sed -n 's/^#define PHP_VERSION "\(.*\)"/\1/p' main/php_version.h)
PREFIX="$CACHE/php-$PHP_VERSION-zts-$key"
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
