#!/usr/bin/env bash
# npm install's build step: find or build PHP (native/build-php.sh), then build the addon against it.
set -Eeuo pipefail
cd "$(dirname "$0")/.."
php_config=$(bash native/build-php.sh | tail -n1)
echo "$php_config" > native/.php-config
echo "[tokio-php] building the addon against $("$php_config" --version) ($php_config)" >&2
# npm runs this with its own node-gyp on PATH; run by hand, use npm's bundled copy
gyp=(node-gyp)
if ! command -v node-gyp >/dev/null; then
  gyp=(node "$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js")
fi
# Node's own headers, when its install has them, so no download is needed
node_prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
if [ -z "${npm_config_nodedir:-}" ] && [ -f "$node_prefix/include/node/node_api.h" ]; then
  gyp+=(--nodedir="$node_prefix")
fi
PHP_CONFIG="$php_config" "${gyp[@]}" rebuild --jobs="$(nproc 2>/dev/null || echo 2)"
