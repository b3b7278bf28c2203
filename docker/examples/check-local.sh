#!/usr/bin/env bash
# Checks the examples without a Docker engine: runs the build commands their Dockerfiles run
# (tokio-php-ext-install for bundled-ext and pecl-ext, Composer for app) against this checkout's
# PHP build (native/.php-config, from npm install), then serves each with this checkout's
# tokio-php and makes the same HTTP checks as docker/test.sh (docker/examples/checks.sh).
# Nothing is installed into the PHP build: the extensions go to a temporary directory.
#
#   bash docker/examples/check-local.sh
#
# Needs the build tools ($PHPIZE_DEPS in the image: autoconf, gcc, make, ...; as root it installs
# them with apt-get), libbz2-dev, network to APCU_URL (default: Debian's archive, which keeps
# PECL's apcu-5.1.24.tgz under another name, same bytes, same SHA-256) and `composer` on PATH (any
# Composer 2; Debian's package does).
set -Eeuo pipefail
cd "$(dirname "$0")/../.."
here=docker/examples
. "$here/checks.sh"
APCU_URL=${APCU_URL:-http://deb.debian.org/debian/pool/main/p/php-apcu/php-apcu_5.1.24.orig.tar.gz}
APCU_SHA256=$(sed -n 's/^ARG APCU_SHA256=//p' "$here/pecl-ext/Dockerfile")

[ -f native/.php-config ] && [ -f dist/src/cli.js ] || { echo "run npm install first" >&2; exit 1; }
export PHP_CONFIG; PHP_CONFIG=$(cat native/.php-config)
deps=(autoconf dpkg-dev file g++ gcc libc-dev make pkg-config xz-utils libbz2-dev curl)
missing=()
for p in "${deps[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "missing: ${missing[*]} (apt-get install them)" >&2; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v composer >/dev/null || { echo "composer is needed for the app example (apt-get install composer)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tokio-php-examples.XXXXXX")
server=
stop_server() { [ -z "$server" ] || { kill -TERM "$server" 2>/dev/null; wait "$server" 2>/dev/null || true; server=; }; }
trap 'stop_server; rm -rf "$tmp"' EXIT
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*" >&2; [ -f "$tmp/server.log" ] && tail -n 20 "$tmp/server.log" >&2; exit 1; }

# serve DOCROOT with tokio-php on a free port, extra environment in "$@"; sets $base
serve() {
  local docroot=$1; shift
  local port; port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
  # as root, PHP would run as root (as in the image's own root build steps): ALLOW_RUN_AS_ROOT says so
  env "$@" DOCUMENT_ROOT="$docroot" LISTEN_ADDR="127.0.0.1:$port" INTERNAL_ADDR=off PHP_WORKERS=2 ALLOW_RUN_AS_ROOT=1 \
    node dist/src/cli.js > "$tmp/server.log" 2>&1 &
  server=$!
  base="http://127.0.0.1:$port"
  wait_for_200 "$base/" || wait_for_200 "$base/hello" || fail "tokio-php did not start"
}

# ---- bundled-ext and pecl-ext: the RUN lines of their Dockerfiles, with the paths of this machine ----
export EXTENSION_DIR=$tmp/ext PHP_INI_SCAN_DIR=$tmp/conf.d PHP_SRC_DIR=$tmp/php-src
export PHP_SRC_TARBALL; PHP_SRC_TARBALL=$(bash native/fetch-php.sh "$tmp/php-dl" | tail -n1)
bash docker/bin/tokio-php-ext-install shmop bz2 > "$tmp/bundled.log" 2>&1 || { tail -n 30 "$tmp/bundled.log"; fail "tokio-php-ext-install shmop bz2"; }
ok "bundled-ext: tokio-php-ext-install shmop bz2 (from $(basename "$PHP_SRC_TARBALL"))"
curl -fsSL -o "$tmp/apcu.tgz" "$APCU_URL" || fail "could not download $APCU_URL"
echo "$APCU_SHA256  $tmp/apcu.tgz" | sha256sum -c - >/dev/null || fail "$APCU_URL: not the SHA-256 of the Dockerfile ($APCU_SHA256)"
bash docker/bin/tokio-php-ext-install "$tmp/apcu.tgz" > "$tmp/pecl.log" 2>&1 || { tail -n 30 "$tmp/pecl.log"; fail "tokio-php-ext-install apcu.tgz"; }
echo 'apc.shm_size = 64M' > "$tmp/conf.d/apcu-settings.ini"
ok "pecl-ext: APCu 5.1.24 from $APCU_URL, sha256 checked, built with phpize"

mkdir "$tmp/www"
cp "$here/bundled-ext/ext-check.php" "$here/pecl-ext/apcu-check.php" "$tmp/www/"
echo ok > "$tmp/www/index.html"
serve "$tmp/www" PHP_INI_SCAN_DIR="$tmp/conf.d"
check_bundled_ext "$base" || fail "bundled-ext check"
ok "bundled-ext: shmop and bz2 work under tokio-php"
check_pecl_ext "$base" || fail "pecl-ext check"
ok "pecl-ext: APCu works under tokio-php, its store shared by requests"
stop_server

# ---- app: the composer stage of its Dockerfile, then classic and worker mode ----
# Composer runs on a PHP of its own (Debian's here, the composer image's in the Dockerfile)
unset EXTENSION_DIR PHP_INI_SCAN_DIR PHP_SRC_DIR PHP_SRC_TARBALL
mkdir "$tmp/app"
tar -C "$here/app" --exclude=./vendor -cf - . | tar -C "$tmp/app" -xf -
(
  cd "$tmp/app"
  composer install --no-dev --no-interaction --no-progress --no-scripts --no-autoloader --ignore-platform-reqs
  composer dump-autoload --no-dev --classmap-authoritative
) > "$tmp/composer.log" 2>&1 || { cat "$tmp/composer.log"; fail "composer"; }
ok "app: composer install and dump-autoload ($(composer --version 2>/dev/null | head -n1))"
mkdir "$tmp/app-conf.d" && echo 'opcache.validate_timestamps = 0' > "$tmp/app-conf.d/app.ini"
serve "$tmp/app/public" INDEX_FILE=index.php PHP_INI_SCAN_DIR="$tmp/app-conf.d"
check_app "$base" classic || fail "app, classic mode"
stop_server
ok "app: classic mode"
serve "$tmp/app/public" INDEX_FILE=index.php WORKER_SCRIPT=index.php PHP_INI_SCAN_DIR="$tmp/app-conf.d"
check_app "$base" worker || fail "app, worker mode"
stop_server
ok "app: worker mode (WORKER_SCRIPT=index.php)"
echo "all example checks passed (without Docker)"
