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

# waits until $1 answers 200 (up to 30 s)
wait_for_200() {
  for _ in $(seq 300); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" = 200 ] && return 0
    sleep 0.1
  done
  echo "$1 never answered 200" >&2
  return 1
}
