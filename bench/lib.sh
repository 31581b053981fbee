# Shared by the bench/*.sh scripts: sourced, not run. Everything binds 127.0.0.1 and is stopped
# when the script exits.

# bench_need COMMAND[:PACKAGE]... installs with apt-get the packages of the commands missing.
bench_need() {
  local need=() item command package
  for item in "$@"; do
    command=${item%%:*}
    package=${item#*:}
    command -v "$command" >/dev/null 2>&1 || [ -x "/usr/sbin/$command" ] || [ -x "/usr/bin/$command" ] || need+=("$package")
  done
  if [ ${#need[@]} -gt 0 ]; then
    echo "installing ${need[*]} …" >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  fi
  nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
}

# bench_build PRODUCT: builds it in release mode and prints its path.
bench_build() {
  echo "building $1 (release) …" >&2
  swift build -c release --product "$1" 2>&1 | grep -E 'error|warning' >&2 || true
  echo "$(swift build -c release --show-bin-path)/$1"
}

# A scratch directory, removed on exit with the processes listed in bench_pids.
work=$(mktemp -d)
bench_pids=()
bench_cleanup() {
  local pid
  for pid in "${bench_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap bench_cleanup EXIT

# bench_nginx PORT LOCATION-BLOCK PROBE-PATH: nginx with one worker and no access log, serving
# the location block on 127.0.0.1:PORT; returns once PROBE-PATH answers.
bench_nginx() {
  local port=$1 location=$2 probe=$3
  if curl -s -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; then
    echo "port $port on 127.0.0.1 is already in use: stop what listens there first" >&2
    exit 1
  fi
  mkdir -p "$work/nginx/logs"
  cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log crit;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$port backlog=4096;
    $location
  }
}
CONF
  "$nginx_bin" -p "$work/nginx" -c "$work/nginx/nginx.conf" &
  bench_pids+=($!)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port$probe" >/dev/null 2>&1 && break; sleep 0.05; done
  curl -sf "http://127.0.0.1:$port$probe" >/dev/null 2>&1 || { echo "nginx did not start" >&2; exit 1; }
  nginx_version=$("$nginx_bin" -v 2>&1 | sed 's/.*nginx\///')
}

# bench_fleet_location BODY: /svc/N/info answers BODY, in which \$1 is N.
bench_fleet_location() {
  printf 'location ~ ^/svc/(\\d+)/info$ { default_type application/json; return 200 '"'"'%s'"'"'; }' "$1"
}

# bench_urls PORT COUNT FILE: http://127.0.0.1:PORT/svc/1/info … /svc/COUNT/info, one per line.
bench_urls() {
  seq 1 "$2" | sed "s|^|http://127.0.0.1:$1/svc/|; s|\$|/info|" >"$3"
}

# bench_run NAME COMMAND...: runs it under GNU time; appends "wall_seconds peak_rss_kib" to
# $work/NAME.runs; its output is in $work/out.txt. A failure stops the benchmark.
bench_run() {
  local name=$1
  shift
  /usr/bin/time -f "%e %M" -o "$work/time.out" "$@" >"$work/out.txt" 2>"$work/err.txt" || {
    echo "$name failed:" >&2
    tail -20 "$work/err.txt" "$work/out.txt" >&2
    exit 1
  }
  cat "$work/time.out" >>"$work/$name.runs"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
verdict() { if awk "BEGIN { exit !($1) }"; then echo "met"; else echo "NOT met"; fi; }
