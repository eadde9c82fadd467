#!/bin/sh
# python3 -m http.server and its clients (curl, urllib) in one sandbox:
# the server binds an ephemeral port, which its log names.
set -e
dir=$(mktemp -d)
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
mkdir "$dir/www"
printf 'hello from the server\n' > "$dir/www/index.txt"
python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$dir/www" > "$dir/log" 2>&1 &
pid=$!
port=
for i in $(seq 100); do
    port=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$dir/log" | head -1)
    [ -n "$port" ] && break
    sleep 0.05
done
curl -sS "http://127.0.0.1:$port/index.txt"
curl -sS -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$port/missing"
python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$port/index.txt').read().decode().strip())"
# Keep-alive: several requests on one connection.
curl -sS "http://127.0.0.1:$port/index.txt" "http://127.0.0.1:$port/index.txt" | wc -l
