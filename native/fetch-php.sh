#!/usr/bin/env bash
# Gets PHP's source tarball into DIR, verified against its SHA-256 before anything unpacks it, and
# prints its path on the last line of stdout. Progress goes to stderr, one line per source tried.
#
#   native/fetch-php.sh DIR
#
#   PHP_VERSION, PHP_SHA256   the version and its checksum (default: native/php-version.env). Another
#                             version needs PHP_SHA256, or takes the checksum from Debian's .dsc.
#   PHP_TARBALL=file          a local tarball: the only source tried
#   PHP_DEBIAN_MIRROR=http://deb.debian.org   base of Debian's pool (debian/, debian-security/)
#   PHP_MIRROR=https://www.php.net            base of php.net's distributions/
set -Eeuo pipefail

log() { printf '[tokio-php] %s\n' "$*" >&2; }
die() { printf '[tokio-php] error: %s\n' "$*" >&2; exit 1; }

dir=${1:?usage: fetch-php.sh DIR}
here=$(dirname "${BASH_SOURCE[0]}")
# The pin is read, not sourced, so a PHP_VERSION or PHP_SHA256 from the environment wins.
pin() { sed -n "s/^$1=//p" "$here/php-version.env"; }
pinned_version=$(pin PHP_VERSION)
version=${PHP_VERSION:-$pinned_version}
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "PHP_VERSION=\"$version\" is not valid: expected a release like $pinned_version"
minor=${version%.*}
debian_mirror=${PHP_DEBIAN_MIRROR:-http://deb.debian.org}
php_mirror=${PHP_MIRROR:-https://www.php.net}
pools=("$debian_mirror/debian/pool/main/p/php$minor" "$debian_mirror/debian-security/pool/updates/main/p/php$minor")

command -v curl >/dev/null || [ -n "${PHP_TARBALL:-}" ] || die "curl is needed to download PHP's source (apt-get install curl)"

# Downloads $1 to $2; on failure prints one line saying what answered.
download() {
  local url=$1 out=$2 code
  code=$(curl -fsSL --show-error --retry 2 --connect-timeout 20 -o "$out" -w '%{http_code}' "$url" 2>"$out.err") &&
    { rm -f "$out.err"; return 0; }
  if [ "$code" != 000 ]; then log "tried $url: HTTP $code"
  else log "tried $url: $(sed 's/^curl: ([0-9]*) //' "$out.err" | head -n1)"; fi
  rm -f "$out" "$out.err"
  return 1
}

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# Debian's .dsc for a version lists the SHA-256 of the upstream tarball it ships.
sha256_from_debian() {
  local pool rev dsc="$dir/php$minor.dsc"
  for pool in "${pools[@]}"; do
    for rev in 1~deb13u1 1~deb13u2 1~deb12u1 1 2 3; do
      curl -fsSL --connect-timeout 20 -o "$dsc" "$pool/php${minor}_$version-$rev.dsc" 2>/dev/null || continue
      awk -v f="php${minor}_$version.orig.tar.xz" '/^Checksums-Sha256:/{s=1;next} /^[^ ]/{s=0} s && $3==f {print $1}' "$dsc"
      rm -f "$dsc"; return 0
    done
    log "tried $pool: no php${minor}_$version-*.dsc"
  done
  return 1
}

if [ -n "${PHP_SHA256:-}" ]; then
  sha256=$PHP_SHA256
elif [ "$version" = "$pinned_version" ]; then
  sha256=$(pin PHP_SHA256)
else
  log "PHP $version is not the pinned $pinned_version: looking up its checksum in Debian's .dsc"
  sha256=$(sha256_from_debian || true)
  [ -n "$sha256" ] || die "no checksum for PHP $version. Set PHP_SHA256 to the SHA-256 of php-$version.tar.xz (php.net lists it beside the download), or build the pinned $pinned_version (unset PHP_VERSION)."
  log "PHP $version: sha256 $sha256 from Debian's .dsc"
fi
[[ $sha256 =~ ^[0-9a-f]{64}$ ]] || die "PHP_SHA256=\"$sha256\" is not valid: expected 64 lowercase hex digits"

# True when $1 has the expected checksum; otherwise says which sums differ and where from.
verified() {
  local got; got=$(sha256_of "$1")
  [ "$got" = "$sha256" ] && return 0
  printf '[tokio-php] error: checksum mismatch for %s: expected sha256 %s, got %s\n' "$2" "$sha256" "$got" >&2
  return 1
}

if [ -n "${PHP_TARBALL:-}" ]; then
  [ -f "$PHP_TARBALL" ] || die "PHP_TARBALL=$PHP_TARBALL does not exist"
  verified "$PHP_TARBALL" "PHP_TARBALL=$PHP_TARBALL" ||
    die "PHP_TARBALL is not PHP $version's tarball. For another version set PHP_VERSION (and PHP_SHA256) to match it."
  log "PHP_TARBALL=$PHP_TARBALL: sha256 verified"
  echo "$PHP_TARBALL"; exit 0
fi

mkdir -p "$dir"
out="$dir/php-$version.tar.xz"
log "fetching PHP $version (sha256 $sha256)"
for url in "${pools[@]/%//php${minor}_$version.orig.tar.xz}" "$php_mirror/distributions/php-$version.tar.xz"; do
  download "$url" "$out.part" || continue
  if verified "$out.part" "$url"; then
    mv "$out.part" "$out"
    log "fetched $url"
    echo "$out"; exit 0
  fi
  rm -f "$out.part"
done

cat >&2 <<EOF
[tokio-php] error: could not get PHP $version's source from any of the sources above.
[tokio-php] To build offline, copy php-$version.tar.xz (sha256 $sha256) to this machine and run:
[tokio-php]   PHP_TARBALL=/path/to/php-$version.tar.xz npm install
[tokio-php] Or use an existing ZTS build of PHP 8.4 with the embed SAPI:
[tokio-php]   PHP_CONFIG=/path/to/php-config npm install
[tokio-php] Or point at a reachable mirror: PHP_DEBIAN_MIRROR (now $debian_mirror), PHP_MIRROR (now $php_mirror).
EOF
exit 1
