#!/usr/bin/env bash
# Two replicas behind HAProxy under steady load; each is restarted in turn (SIGTERM: it drains,
# /ready turns 503, HAProxy takes it out of rotation) while requests flow. Passes when none fails.
#   bash docker/replicas/test.sh        (compose builds the image, tagged tokio-php:0.1.0)
set -Eeuo pipefail
cd "$(dirname "$0")"
compose() { if docker compose version >/dev/null 2>&1; then docker compose "$@"; else docker-compose "$@"; fi; }
trap 'compose down -t 20 >/dev/null 2>&1 || true' EXIT
compose up -d --build >/tmp/tokio-php-replicas.log 2>&1 || { tail -n 30 /tmp/tokio-php-replicas.log; exit 1; }
for _ in $(seq 100); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8088/)" = 200 ] && break
  sleep 0.2
done
# both replicas in rotation before the load starts
sleep 2
node load.mjs http://127.0.0.1:8088/ 8 > /tmp/tokio-php-load.json &
load=$!
sleep 3
for replica in tokio-a tokio-b; do
  t0=$(date +%s%N)
  compose restart -t 20 "$replica" >/dev/null 2>&1
  echo "restarted $replica in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
  # back in rotation (HAProxy: rise 2 checks of 500 ms) before the next one goes
  sleep 3
done
kill -TERM "$load"
wait "$load" && status=0 || status=$?
cat /tmp/tokio-php-load.json
[ "$status" = 0 ] && echo "replica test passed: no request failed" || { echo "replica test FAILED"; exit 1; }
