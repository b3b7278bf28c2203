#!/usr/bin/env bash
# Builds the image and checks it for real: the demo page, a PHP upload, /health, /ready,
# /metrics, the non-root user, the size, a mounted app, configuration from the environment, and
# a clean stop within the drain timeout; then builds the examples of docker/examples/ on it (a
# bundled extension, a PECL one, a Composer app in classic and worker mode) and checks them. Slow
# (the first build compiles PHP), so not part of `npm test`; without a Docker engine,
# docker/examples/check-local.sh checks the examples' build steps against the local PHP build
# and tokio-php.
#
#   bash docker/test.sh [--no-build] [--no-examples] [--image tokio-php:0.1.0]
#   APCU_URL=... bash docker/test.sh    where PECL is out of reach (see docker/examples/pecl-ext)
set -Eeuo pipefail
cd "$(dirname "$0")/.."
version=$(node -p "require('./package.json').version" 2>/dev/null || sed -n 's/^  "version": "\(.*\)",$/\1/p' package.json)
image=tokio-php:$version
build=1
examples=1
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=0 ;;
    --no-examples) examples=0 ;;
    --image) image=$2; shift ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
  shift
done

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
names=()
cleanup() { for n in "${names[@]}"; do docker rm -f "$n" >/dev/null 2>&1 || true; done; rm -rf "$app"; }
app=$(mktemp -d)
trap cleanup EXIT

if [ "$build" = 1 ]; then
  start=$(date +%s)
  # tagged with the version (what docker/compose.yml and docker/kubernetes/ name) and as latest
  docker build -t "$image" -t "${image%:*}:latest" . >/tmp/tokio-php-docker-build.log 2>&1 || { tail -n 40 /tmp/tokio-php-docker-build.log; fail "docker build (log: /tmp/tokio-php-docker-build.log)"; }
  ok "built $image in $(( $(date +%s) - start )) s"
fi
size=$(docker image inspect -f '{{.Size}}' "$image")
ok "image size $(( size / 1000000 )) MB"

# waits until $1 answers 200 (up to 30 s); prints the milliseconds it took
first_200() {
  local t0 now
  t0=$(date +%s%N)
  for _ in $(seq 300); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" = 200 ]; then
      now=$(date +%s%N); echo $(( (now - t0) / 1000000 )); return 0
    fi
    sleep 0.1
  done
  return 1
}

# 1. the image as it comes: the demo site, the internal port, the user
names+=(tokio-php-test-demo)
t0=$(date +%s%N)
docker run -d --name tokio-php-test-demo -p 127.0.0.1:18180:8080 -p 127.0.0.1:19190:9090 "$image" >/dev/null
first_200 http://127.0.0.1:18180/ >/dev/null || { docker logs tokio-php-test-demo | tail -n 20; fail "the demo page never answered"; }
ok "cold start to the first 200: $(( ($(date +%s%N) - t0) / 1000000 )) ms (docker run included)"
curl -s http://127.0.0.1:18180/ | grep -q 'tokio-php' || fail "the demo page does not say tokio-php"
ok "demo page"
curl -s http://127.0.0.1:19190/health | grep -q '"status":"ok"' || fail "/health"
[ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:19190/ready)" = 200 ] || fail "/ready"
curl -s http://127.0.0.1:19190/metrics | grep -q '^tokio_php_requests_total{method="GET",status="200",upstream="php"}' || fail "/metrics counts the request"
ok "/health, /ready, /metrics"
uid=$(docker exec tokio-php-test-demo id -u)
[ "$uid" != 0 ] || fail "runs as root"
ok "runs as uid $uid"
for _ in $(seq 40); do
  [ "$(docker inspect -f '{{.State.Health.Status}}' tokio-php-test-demo)" = healthy ] && break
  sleep 0.5
done
[ "$(docker inspect -f '{{.State.Health.Status}}' tokio-php-test-demo)" = healthy ] || fail "HEALTHCHECK does not report healthy"
ok "HEALTHCHECK healthy"

# 2. a clean stop: SIGTERM drains a request in flight, exit code 0 within DRAIN_TIMEOUT
curl -s -o "$app/stream.out" "http://127.0.0.1:18180/events.php?count=3" &
streaming=$!
sleep 0.5
t0=$(date +%s%N)
docker stop -t 40 tokio-php-test-demo >/dev/null
stopped_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
code=$(docker inspect -f '{{.State.ExitCode}}' tokio-php-test-demo)
[ "$code" = 0 ] || { docker logs tokio-php-test-demo | tail -n 20; fail "exit code $code after SIGTERM"; }
[ "$stopped_ms" -lt 35000 ] || fail "stopping took $stopped_ms ms"
docker logs tokio-php-test-demo 2>&1 | grep -q '"msg":"shutting down: draining requests in flight"' || fail "no drain in the log"
wait "$streaming" || true
grep -q '^event: done' "$app/stream.out" || fail "the event stream in flight was cut: $(cat "$app/stream.out")"
ok "docker stop: exit code 0 after $stopped_ms ms; the stream in flight (3 s) ran to its end"
rm -f "$app/stream.out"

# 3. the user's app mounted, configured from the environment
cat > "$app/index.php" <<'PHP'
<?php
header('Content-Type: application/json');
echo json_encode(['app' => 'mounted', 'workers' => tokio_server_info()['workers'] ?? null, 'uri' => $_SERVER['REQUEST_URI'],
  'files' => array_map(fn ($f) => ['size' => $f['size'], 'sha1' => sha1_file($f['tmp_name'])], $_FILES), 'post' => $_POST]);
PHP
chmod -R a+rX "$app"
head -c 300000 /dev/urandom > "$app/upload.bin"
names+=(tokio-php-test-app)
docker run -d --name tokio-php-test-app -p 127.0.0.1:18181:8080 -p 127.0.0.1:19191:9090 -v "$app":/var/www/html:ro \
  -e PHP_WORKERS=3 -e PROCESSES=1 -e INDEX_FILE=index.php -e SERVER_HEADER=tested -e RATE_LIMIT=1000/s "$image" >/dev/null
first_200 http://127.0.0.1:18181/ >/dev/null || { docker logs tokio-php-test-app | tail -n 20; fail "the mounted app never answered"; }
reply=$(curl -s -F note=hello -F "file=@$app/upload.bin" http://127.0.0.1:18181/some/route)
echo "$reply" | grep -q '"app":"mounted"' || fail "mounted app: $reply"
echo "$reply" | grep -q '"uri":"\\/some\\/route"' || fail "INDEX_FILE front controller: $reply"
echo "$reply" | grep -q "\"size\":300000,\"sha1\":\"$(sha1sum "$app/upload.bin" | cut -c1-40)\"" || fail "upload: $reply"
echo "$reply" | grep -q '"post":{"note":"hello"}' || fail "POST fields: $reply"
ok "mounted app, front controller, a POST with a 300 kB upload"
curl -s http://127.0.0.1:19191/health | grep -q '"workers":3' || fail "PHP_WORKERS=3 not applied"
curl -sI http://127.0.0.1:18181/ | grep -qi '^server: tested' || fail "SERVER_HEADER not applied"
curl -sI http://127.0.0.1:18181/ | grep -qi '^ratelimit-limit: 1000' || fail "RATE_LIMIT not applied"
ok "environment applied (PHP_WORKERS, INDEX_FILE, SERVER_HEADER, RATE_LIMIT)"
docker stop -t 40 tokio-php-test-app >/dev/null
[ "$(docker inspect -f '{{.State.ExitCode}}' tokio-php-test-app)" = 0 ] || fail "the app container did not exit 0"

# 4. the examples of docker/examples/, each built on this image
if [ "$examples" = 1 ]; then
  . docker/examples/checks.sh
  # builds docker/examples/$1 as tokio-php-example-$1, runs it on port $2 with the rest of the arguments
  run_example() {
    local name=$1 port=$2; shift 2
    docker rm -f "tokio-php-test-$name" >/dev/null 2>&1 || true
    names+=("tokio-php-test-$name")
    docker run -d --name "tokio-php-test-$name" -p "127.0.0.1:$port:8080" "$@" >/dev/null
  }
  build_example() {
    local name=$1; shift
    docker build --build-arg BASE="$image" "$@" -t "tokio-php-example-$name" "docker/examples/$name" >"/tmp/tokio-php-example-$name.log" 2>&1 ||
      { tail -n 40 "/tmp/tokio-php-example-$name.log"; fail "building docker/examples/$name (log: /tmp/tokio-php-example-$name.log)"; }
  }
  build_example bundled-ext
  run_example bundled-ext 18182 tokio-php-example-bundled-ext
  wait_for_200 http://127.0.0.1:18182/ && check_bundled_ext http://127.0.0.1:18182 || fail "docker/examples/bundled-ext"
  ok "example bundled-ext: shmop and bz2 built from the image's PHP source and loaded"
  build_example pecl-ext ${APCU_URL:+--build-arg APCU_URL="$APCU_URL"}
  run_example pecl-ext 18183 tokio-php-example-pecl-ext
  wait_for_200 http://127.0.0.1:18183/ && check_pecl_ext http://127.0.0.1:18183 || fail "docker/examples/pecl-ext"
  ok "example pecl-ext: APCu built from its release tarball and working"
  build_example app
  run_example app 18184 tokio-php-example-app
  wait_for_200 http://127.0.0.1:18184/hello && check_app http://127.0.0.1:18184 classic || fail "docker/examples/app, classic mode"
  run_example app-worker 18185 -e WORKER_SCRIPT=index.php tokio-php-example-app
  wait_for_200 http://127.0.0.1:18185/hello && check_app http://127.0.0.1:18185 worker || fail "docker/examples/app, worker mode"
  ok "example app: Composer's autoloader, classic and worker mode"
fi
echo "all checks passed"
