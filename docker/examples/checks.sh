# The HTTP checks of the examples, shared by docker/test.sh (the images) and
# docker/examples/check-local.sh (the same builds without a Docker engine). Sourced; each function
# takes the base URL of a running server and returns non-zero with a message when a check fails.

# bundled-ext: shmop and bz2 are loaded and work
check_bundled_ext() {
  local reply; reply=$(curl -s "$1/ext-check.php")
  [ "$reply" = '{"shmop":true,"bz2":true}' ] || { echo "bundled-ext: $reply" >&2; return 1; }
}

# pecl-ext: APCu is loaded and enabled, and its store outlives a request
check_pecl_ext() {
  local first second
  first=$(curl -s "$1/apcu-check.php")
  second=$(curl -s "$1/apcu-check.php")
  echo "$first" | grep -q '"apcu":true' || { echo "pecl-ext: $first" >&2; return 1; }
  local a b
  a=$(echo "$first" | sed -n 's/.*"hits":\([0-9]*\).*/\1/p')
  b=$(echo "$second" | sed -n 's/.*"hits":\([0-9]*\).*/\1/p')
  [ -n "$a" ] && [ -n "$b" ] && [ "$b" -gt "$a" ] || { echo "pecl-ext: the counter did not grow: $first then $second" >&2; return 1; }
}

# app: the autoloaded classes answer, in the expected mode (classic or worker); in worker mode a
# thread keeps its booted app, so some request is not the first since its boot
check_app() {
  local base=$1 mode=$2 reply most=0 n
  for _ in 1 2 3 4 5 6 7 8; do
    reply=$(curl -s "$base/hello?name=tokio")
    echo "$reply" | grep -q '"greeting":"Hello, tokio!"' || { echo "app: $reply" >&2; return 1; }
    echo "$reply" | grep -q "\"mode\":\"$mode\"" || { echo "app: not in $mode mode: $reply" >&2; return 1; }
    n=$(echo "$reply" | sed -n 's/.*"requests_since_boot":\([0-9]*\).*/\1/p')
    [ "${n:-0}" -gt "$most" ] && most=$n
  done
  if [ "$mode" = worker ]; then
    [ "$most" -ge 2 ] || { echo "app: worker mode, yet every request booted the app" >&2; return 1; }
  else
    [ "$most" = 1 ] || { echo "app: classic mode, yet a request found the app already booted" >&2; return 1; }
  fi
}

# waits until $1 answers 200 (up to 30 s)
wait_for_200() {
  for _ in $(seq 300); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" = 200 ] && return 0
    sleep 0.1
  done
  echo "$1 never answered 200" >&2
  return 1
}
