#!/usr/bin/env bash
# Installs what the test suite needs on Debian 12, as root. Idempotent:
# checks what is present and only runs apt-get (and cargo install) for what
# is missing; succeeds without doing anything when all is present.
set -euo pipefail

missing=()
need() { # need PACKAGE CONDITION...
	local pkg=$1
	shift
	if ! "$@" >/dev/null 2>&1; then
		missing+=("$pkg")
	fi
}
have_file() { [ -e "$1" ]; }
static_libc() { have_file "$(cc -print-file-name=libc.a 2>/dev/null)"; }

need build-essential command -v cc
need build-essential command -v make
need libc6-dev have_file /usr/include/stdio.h
need libc6-dev static_libc
need python3 have_file /usr/bin/python3
need perl have_file /usr/bin/perl
need coreutils command -v sha256sum
need findutils command -v xargs
need tar command -v tar
need gzip command -v gzip
# The macro benchmarks (scripts/bench.sh --macro).
need xz-utils command -v xz
need sqlite3 command -v sqlite3
need git command -v git
need gcc command -v gcc
need strace command -v strace
need gdb command -v gdb
need stress-ng command -v stress-ng
need procps command -v ps
need inotify-tools command -v inotifywait
need curl command -v curl
need iproute2 command -v ip
need iproute2 command -v ss
need iputils-ping command -v ping
need redis-server command -v redis-server
need redis-tools command -v redis-benchmark
need postgresql have_file /usr/lib/postgresql/15/bin/initdb
need util-linux command -v setpriv
need bubblewrap command -v bwrap
need util-linux command -v unshare
need busybox-static dpkg -s busybox-static
need runc command -v runc
need podman command -v podman
# The init of the pause image `podman pod create` builds (podman only
# recommends it; installed without recommends here).
need catatonit command -v catatonit
# crun: a column of scripts/bench.sh --oci.
need crun command -v crun
# dockerd, containerd and ctr for scripts/docker-test.sh (which starts a
# daemon of its own: the package's service must not start one).
need docker.io have_file /usr/sbin/dockerd
need docker.io command -v ctr

if [ ${#missing[@]} -gt 0 ]; then
	# Deduplicate while keeping order.
	readarray -t pkgs < <(printf '%s\n' "${missing[@]}" | awk '!seen[$0]++')
	echo "install-deps: installing ${pkgs[*]}"
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps: must run as root to install: ${pkgs[*]}" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	# No package's service is started (docker.io's daemon would set up
	# the host's network): a policy denying it, for the install only.
	policy=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		policy=/usr/sbin/policy-rc.d
		printf '#!/bin/sh\nexit 101\n' >$policy && chmod +x $policy
	fi
	apt-get update
	apt-get install -y --no-install-recommends "${pkgs[@]}"
	[ -z "$policy" ] || rm -f "$policy"
fi

if ! command -v cargo >/dev/null 2>&1; then
	echo "install-deps: cargo not found; install a Rust toolchain (rustup) first" >&2
	exit 1
fi
if ! cargo nextest --version >/dev/null 2>&1; then
	echo "install-deps: installing cargo-nextest"
	cargo install cargo-nextest --locked
fi
