#!/bin/sh
# redis-server and its clients in one sandbox: redis-cli set/get, then
# redis-benchmark (-n 20000, SET and GET, 50 connections) must finish
# each test. The port is an ephemeral one the kernel picked.
set -e
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
trap 'redis-cli -p $port shutdown nosave >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" >"$dir/log" 2>&1 &
for i in $(seq 200); do
    redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break
    sleep 0.05
done
redis-cli -p "$port" set greeting hello
redis-cli -p "$port" get greeting
redis-cli -p "$port" incr counter
redis-benchmark -p "$port" -q -n 20000 -t set,get 2>&1 | tr '\r' '\n' |
    grep -E '^[A-Z]+: [0-9.]+ requests per second' | sed 's/: .*/: done/'
