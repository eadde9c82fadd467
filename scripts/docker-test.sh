#!/usr/bin/env bash
# Docker and containerd with rvisor as their runtime. Starts its own
# dockerd (and so its own containerd) with every file under a temporary
# directory, in a private mount and network namespace of its own (a fresh
# /run there too), so nothing reaches the host's network, mounts or
# daemons; imports the busybox rootfs as an image; then:
#   docker run --runtime=rvisor --rm IMAGE echo hi, exit statuses,
#   docker run -d + exec (-i too) + logs + stop + rm,
#   ctr run --runc-binary RVISOR (the runc shim driving rvisor): one
#   container started and waited, its exit status.
# As root. Prints one line per check; the last line is "N passed, M
# failed"; exit status 0 only if none failed.
#   scripts/docker-test.sh [--rvisor BIN] [--platform trap|ptrace] [--keep]
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

RVISOR=target/release/rvisor
PLATFORM=
KEEP=0
INNER=0
args=("$@")
while [ $# -gt 0 ]; do
	case $1 in
	--rvisor) RVISOR=$2; shift ;;
	--platform) PLATFORM=$2; shift ;;
	--keep) KEEP=1 ;;
	--inner) INNER=1; T=$2; shift ;;
	*) echo "docker-test: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
RVISOR=$(realpath "$RVISOR")
for c in dockerd containerd ctr busybox unshare; do
	command -v $c >/dev/null || { echo "docker-test: $c missing (scripts/install-deps.sh)" >&2; exit 2; }
done
# Debian's docker.io client, which matches its daemon (another docker
# earlier in PATH may not).
DOCKER_CLI=/usr/bin/docker
[ -x $DOCKER_CLI ] || DOCKER_CLI=$(command -v docker) || { echo "docker-test: docker missing" >&2; exit 2; }

if [ $INNER = 0 ]; then
	# The outer half: a temporary directory, the inner half in namespaces
	# of its own, then the directory goes (no mount is left on it: they
	# were all made in the namespace, gone with its last process).
	T=$(mktemp -d /tmp/docker-test.XXXXXX)
	unshare --mount --net --propagation private "$0" "${args[@]}" --inner "$T"
	st=$?
	[ $KEEP = 1 ] || rm -rf "$T"
	exit $st
fi

# --- the inner half: our own /run, loopback up -----------------------------
mount -t tmpfs -o mode=755 rvisor-docker-test /run || { echo "docker-test: cannot mount /run" >&2; exit 2; }
ip link set lo up 2>/dev/null
SOCK=$T/docker.sock
D=("$DOCKER_CLI" -H "unix://$SOCK")
CTR=(ctr -a "$T/exec/containerd/containerd.sock" -n rvisor-test)
IMG=rvisor-docker-test:1

. scripts/check.sh

cleanup() {
	if [ -n "${dockerd_pid:-}" ]; then
		"${D[@]}" ps -aq 2>/dev/null | xargs -r "${D[@]}" rm -f >/dev/null 2>&1
		"${CTR[@]}" tasks kill -s KILL ct1 >/dev/null 2>&1
		"${CTR[@]}" containers rm ct1 >/dev/null 2>&1
		kill "$dockerd_pid" 2>/dev/null
		for _ in $(seq 100); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.1; done
	fi
	# Whatever still runs in this mount namespace (a shim, a sandbox) is
	# this test's: it goes too.
	local me p
	me=$(readlink /proc/$$/ns/mnt)
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		[ "$p" = $$ ] && continue
		[ "$(readlink /proc/$p/ns/mnt 2>/dev/null)" = "$me" ] && [ "$(readlink /proc/$p/ns/net 2>/dev/null)" = "$(readlink /proc/$$/ns/net)" ] &&
			kill -9 "$p" 2>/dev/null
	done
}
trap cleanup EXIT

# --- the daemon -----------------------------------------------------------
runtime=(--add-runtime "rvisor=$RVISOR")
if [ -n "$PLATFORM" ]; then
	# Flags for the runtime need the configuration file's form.
	printf '{"runtimes": {"rvisor": {"path": "%s", "runtimeArgs": ["--platform", "%s"]}}}\n' \
		"$RVISOR" "$PLATFORM" >"$T/daemon.json"
	runtime=()
else
	echo '{}' >"$T/daemon.json"
fi
dockerd --config-file "$T/daemon.json" --data-root "$T/data" --exec-root "$T/exec" \
	--pidfile "$T/dockerd.pid" -H "unix://$SOCK" --storage-driver vfs \
	--iptables=false --ip6tables=false --ip-forward=false --ip-masq=false --bridge=none \
	--exec-opt native.cgroupdriver=cgroupfs "${runtime[@]}" >"$T/dockerd.log" 2>&1 &
dockerd_pid=$!
for _ in $(seq 300); do "${D[@]}" version >/dev/null 2>&1 && break; sleep 0.1; done
check "dockerd answers" 0 "$("${D[@]}" version >/dev/null 2>&1; echo $?)"

# --- the image: the busybox rootfs -----------------------------------------
mkdir -p "$T/rootfs/bin" "$T/rootfs/tmp" "$T/rootfs/proc" "$T/rootfs/sys" "$T/rootfs/dev" "$T/rootfs/etc"
cp "$(command -v busybox)" "$T/rootfs/bin/busybox"
for a in $(busybox --list); do [ "$a" = busybox ] || ln -s busybox "$T/rootfs/bin/$a"; done
tar -C "$T/rootfs" -cf "$T/rootfs.tar" .
check "docker import" 0 "$("${D[@]}" import "$T/rootfs.tar" $IMG >/dev/null 2>&1; echo $?)"

# --- docker ------------------------------------------------------------------
R=(--runtime=rvisor --network=none)
check "docker run --rm echo hi" "hi 0" \
	"$({ "${D[@]}" run "${R[@]}" --rm $IMG echo hi 2>&1; echo $?; } | tr '\n' ' ' | sed 's/ $//')"
check "docker run: exit status" 4 "$("${D[@]}" run "${R[@]}" --rm $IMG sh -c 'exit 4' >/dev/null 2>&1; echo $?)"
check "docker run: the sentry's kernel" "#1 SMP rvisor" "$("${D[@]}" run "${R[@]}" --rm $IMG uname -v 2>&1)"
check "docker run -i: stdin" hello "$(echo hello | "${D[@]}" run "${R[@]}" --rm -i $IMG cat 2>&1)"
cid=$("${D[@]}" run "${R[@]}" -d $IMG sh -c 'echo started; trap "echo term; exit 0" TERM; sleep 100 & wait' 2>&1)
for _ in $(seq 50); do "${D[@]}" logs "$cid" 2>/dev/null | grep -q started && break; sleep 0.1; done
check "docker run -d: running" running "$("${D[@]}" inspect "$cid" --format '{{.State.Status}}' 2>&1)"
check "docker exec" "in-container 42" "$("${D[@]}" exec "$cid" sh -c 'echo in-container $((6*7))' 2>&1)"
check "docker exec: exit status" 6 "$("${D[@]}" exec "$cid" sh -c 'exit 6' >/dev/null 2>&1; echo $?)"
check "docker exec -i: stdin" hello "$(echo hello | "${D[@]}" exec -i "$cid" cat 2>&1)"
"${D[@]}" stop -t 10 "$cid" >/dev/null 2>&1
check "docker stop: the TERM handler ran" "started term" "$("${D[@]}" logs "$cid" 2>&1 | tr '\n' ' ' | sed 's/ $//')"
check "docker stop: exit status" "0 exited" "$("${D[@]}" inspect "$cid" --format '{{.State.ExitCode}} {{.State.Status}}' 2>&1)"
check "docker rm" 0 "$("${D[@]}" rm "$cid" >/dev/null 2>&1; echo $?)"
check "docker: no container left" "" "$("${D[@]}" ps -aq 2>&1)"

# --- containerd: the runc shim driving rvisor ------------------------------
"${D[@]}" save $IMG -o "$T/image.tar" &&
	"${CTR[@]}" images import --snapshotter native "$T/image.tar" >/dev/null 2>&1
check "ctr images import" 1 "$("${CTR[@]}" images ls -q | grep -c "$IMG")"
mkdir -p "$T/ctr-root" "$T/fifo"
out=$(timeout 60 "${CTR[@]}" run --rm --snapshotter native --runtime io.containerd.runc.v2 \
	--runc-binary "$RVISOR" --runc-root "$T/ctr-root" --fifo-dir "$T/fifo" \
	"docker.io/library/$IMG" ct1 sh -c 'echo from-ctr; exit 3' 2>&1)
check "ctr run: started and waited, its exit status" "from-ctr 3" "$out $?"
check "ctr: no container left" "" "$("${CTR[@]}" containers ls -q 2>&1)"
check "ctr: the runtime's state is gone" "" "$(ls "$T/ctr-root/rvisor-test" 2>/dev/null)"

# --- the daemon goes ---------------------------------------------------------
kill "$dockerd_pid"
for _ in $(seq 100); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.1; done
check "dockerd stopped" gone "$(kill -0 "$dockerd_pid" 2>/dev/null && echo alive || echo gone)"
dockerd_pid=
checks_done
