#!/usr/bin/env bash
# Benchmarks: native vs rvisor (each platform) vs gVisor's runsc, in one run.
#
#   scripts/bench.sh [--install-runsc] [--no-build]
#
# Compiles bench/*.c with `cc -O2` into a temporary directory under /tmp
# (visible inside both sandboxes, whose root is the host's /), builds rvisor,
# then runs every benchmark natively, under `rvisor do --platform P` for each
# platform P, and under `runsc do` (when runsc is installed). Iteration counts
# are calibrated per environment so that each measurement takes about
# BENCH_TARGET_MS (default 1000) milliseconds; each cell is the median of
# BENCH_REPS (default 3) measurements. Prints a Markdown table on stdout
# (progress and notes go to stderr). Unavailable columns print `n/a`, failed
# cells `fail`; the script exits 0 in both cases. Every run is bounded by
# `timeout` (BENCH_TIMEOUT, default 120 s).
#
# Environment:
#   RVISOR_PLATFORMS  space-separated platforms to run (default: the list
#                     rvisor reports as available, else "ptrace")
#   RUNSC_FLAGS       top-level runsc flags (default:
#                     "--network=none --platform=ptrace --ignore-cgroups")
#   BENCH_ONLY        space-separated subset of benchmark names to run
#   RVISOR_BIN        the rvisor binary to measure (default: this checkout's
#                     target/release/rvisor; with --no-build to compare
#                     another build)
#   BENCH_TARGET_MS, BENCH_REPS, BENCH_TIMEOUT, BENCH_BUILD_WAIT (seconds to
#                     wait for other rustc processes to finish, default 300)
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$(pwd)

INSTALL_RUNSC=0
BUILD=1
for arg in "$@"; do
	case "$arg" in
	--install-runsc) INSTALL_RUNSC=1 ;;
	--no-build) BUILD=0 ;;
	-h | --help)
		sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "bench.sh: unknown argument $arg" >&2
		exit 2
		;;
	esac
done

TARGET_MS=${BENCH_TARGET_MS:-1000}
REPS=${BENCH_REPS:-3}
TIMEOUT=${BENCH_TIMEOUT:-120}
BUILD_WAIT=${BENCH_BUILD_WAIT:-300}
RVISOR=${RVISOR_BIN:-"$REPO/target/release/rvisor"}

note() { echo "bench.sh: $*" >&2; }
NOTES=()
add_note() {
	NOTES+=("$*")
	note "$*"
}

WORK=$(mktemp -d /tmp/rvisor-bench.XXXXXX) || exit 1
VETH_NS=rvisor-bench-$$
VETH_HOST=rvbh$$
cleanup() {
	if [ -n "${VETH_PEER_PID:-}" ]; then
		kill "$VETH_PEER_PID" 2>/dev/null
	fi
	if [ "${VETH_UP:-0}" = 1 ]; then
		ip netns del "$VETH_NS" 2>/dev/null
		ip link del "$VETH_HOST" 2>/dev/null
	fi
	# Remove any runsc sandbox left behind by a run that timed out.
	if [ -d "$WORK/runsc-state" ] && command -v runsc >/dev/null 2>&1; then
		for c in $(timeout 20 runsc --root="$WORK/runsc-state" list -quiet 2>/dev/null); do
			timeout 20 runsc --root="$WORK/runsc-state" delete -force "$c" >/dev/null 2>&1
		done
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

# ---------------------------------------------------------------- compile
note "compiling bench/*.c into $WORK"
for src in "$REPO"/bench/*.c; do
	name=$(basename "$src" .c)
	if ! cc -O2 -Wall -pthread -o "$WORK/$name" "$src"; then
		note "failed to compile $src"
		exit 1
	fi
done

# A directory of 50,000 empty files for the directory-listing row (host
# files: the sandboxes' root is the host's /).
mkdir -p "$WORK/dir50k" && (cd "$WORK/dir50k" && seq -f 'entry-%g' 1 50000 | xargs touch) || {
	note "cannot make $WORK/dir50k"
	exit 1
}

# selected NAME: whether row NAME runs (BENCH_ONLY).
selected() { [ -z "${BENCH_ONLY:-}" ] || [[ " $BENCH_ONLY " == *" $1 "* ]]; }

# Inputs of the file-heavy rows (host files), made only for rows that run.
if selected e2e_read_1g; then
	dd if=/dev/urandom of="$WORK/file1g" bs=1M count=1024 status=none || {
		note "cannot make $WORK/file1g"
		exit 1
	}
fi
# A git checkout of 10,000 files (100 directories of 100), committed.
if selected e2e_git_status; then
	(
		mkdir -p "$WORK/repo" && cd "$WORK/repo" && git init -q . &&
			for d in $(seq 0 99); do
				mkdir "d$d" && for f in $(seq 0 99); do echo "file $d/$f" >"d$d/f$f.txt"; done
			done &&
			git add -A && git -c user.email=bench@rvisor -c user.name=bench commit -qm files
	) || {
		note "cannot make the git checkout in $WORK/repo"
		exit 1
	}
fi
# A 128 MiB tar archive of 2,048 files of 64 KiB.
if selected e2e_tar_x; then
	(
		mkdir -p "$WORK/tarsrc" && cd "$WORK/tarsrc" &&
			head -c $((128 << 20)) /dev/urandom | split -b 65536 -a 4 - part_ &&
			cd "$WORK" && tar cf "$WORK/big.tar" tarsrc && rm -rf "$WORK/tarsrc"
	) || {
		note "cannot make $WORK/big.tar"
		exit 1
	}
fi

# ---------------------------------------------------------------- rvisor
HAVE_RVISOR=1
if [ "$BUILD" = 1 ]; then
	note "building rvisor (cargo build --release -p rvisor)"
	if ! timeout 3600 cargo build --release -p rvisor >&2; then
		if [ -x "$RVISOR" ]; then
			add_note "cargo build failed; using the existing $RVISOR"
		else
			add_note "cargo build failed and no rvisor binary exists"
			HAVE_RVISOR=0
		fi
	fi
fi
if [ ! -x "$RVISOR" ]; then
	HAVE_RVISOR=0
	add_note "no rvisor binary at $RVISOR: rvisor columns are n/a"
fi

if [ -n "${RVISOR_PLATFORMS:-}" ]; then
	PLATFORMS=$RVISOR_PLATFORMS
else
	PLATFORMS=ptrace
	if [ "$HAVE_RVISOR" = 1 ]; then
		msg=$(timeout 20 "$RVISOR" do --platform bogus -- /bin/true 2>&1 || true)
		list=$(printf '%s\n' "$msg" | sed -n 's/.*available: \([^)]*\)).*/\1/p' | head -1 | tr ',' ' ')
		if [ -n "$list" ]; then
			PLATFORMS=$list
		fi
	fi
fi
PLATFORMS=$(echo $PLATFORMS)

# ---------------------------------------------------------------- runsc
HAVE_RUNSC=0
RUNSC_FLAGS=${RUNSC_FLAGS:---network=none --platform=ptrace --ignore-cgroups}
RUNSC_VERSION=n/a
if ! command -v runsc >/dev/null 2>&1 && [ "$INSTALL_RUNSC" = 1 ]; then
	if [ "$(id -u)" != 0 ]; then
		add_note "--install-runsc needs root; skipping the install"
	else
		note "installing runsc (apt-get)"
		timeout 600 apt-get update >&2 || note "apt-get update failed"
		cand=$(apt-cache policy runsc 2>/dev/null | sed -n 's/^ *Candidate: *//p')
		if [ -z "$cand" ] || [ "$cand" = "(none)" ]; then
			add_note "Debian package runsc is not available from the configured apt sources; no runsc column"
		elif ! DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y runsc >&2; then
			add_note "apt-get install runsc failed; no runsc column"
		fi
	fi
fi
if command -v runsc >/dev/null 2>&1; then
	RUNSC_VERSION=$(runsc --version 2>/dev/null | head -1 | sed 's/^runsc version //')
	RUNSC_ROOT="$WORK/runsc-state"
	mkdir -p "$RUNSC_ROOT"
	if [ "$(id -u)" != 0 ]; then
		RUNSC_FLAGS="$RUNSC_FLAGS --rootless --TESTONLY-unsafe-nonroot"
	fi
	# shellcheck disable=SC2206
	RUNSC_CMD=(runsc "--root=$RUNSC_ROOT" $RUNSC_FLAGS do --cwd=/ --)
	# The @host rows: the same flags with the host's network.
	# shellcheck disable=SC2206
	RUNSC_HOST_CMD=(runsc "--root=$RUNSC_ROOT" ${RUNSC_FLAGS//--network=none/} --network=host do --cwd=/ --)
	# Probe once; keep the error for the notes if it does not work.
	# (runsc output is always read through a pipe: written to a regular file
	# it can land at the wrong offset.)
	probe=$(timeout "$TIMEOUT" "${RUNSC_CMD[@]}" "$WORK/getppid" 10 2>&1 | cat)
	if printf '%s\n' "$probe" | grep -q '^ns_per_op '; then
		HAVE_RUNSC=1
	else
		err=$(printf '%s\n' "$probe" | grep -iE 'error|fatal|flag|denied|not |fail' | head -3 | tr '\n' ' ')
		[ -n "$err" ] || err=$(printf '%s\n' "$probe" | tail -3 | tr '\n' ' ')
		add_note "runsc $RUNSC_VERSION does not run here (flags: $RUNSC_FLAGS): $err"
	fi
else
	add_note "runsc is not installed (run with --install-runsc): runsc column is n/a"
fi

if [ "$HAVE_RUNSC" = 1 ] && [ -e /dev/kvm ]; then
	note "/dev/kvm exists but runsc is run with its ptrace platform (flags: $RUNSC_FLAGS)"
fi

# ---------------------------------------------------------------- wait for builds
waited=0
while pgrep -x rustc >/dev/null 2>&1 && [ "$waited" -lt "$BUILD_WAIT" ]; do
	[ "$waited" = 0 ] && note "rustc is running; waiting up to ${BUILD_WAIT}s before measuring"
	sleep 10
	waited=$((waited + 10))
done
if pgrep -x rustc >/dev/null 2>&1; then
	add_note "rustc was still running during the measurements; numbers may be noisy"
fi

# ---------------------------------------------------------------- benchmarks
# name | row label | first pilot iteration count | ops per iteration | argv
# (argv: PROG is replaced by the compiled program; e2e uses spawn_loop on
# the host with the environment's own launcher. NAME@host runs program NAME
# with the sandboxes' --network=host; natively it is the same run. NAME@veth
# runs NAME in a network namespace joined to the host by a veth pair, with
# rvisor's --network=sandbox, against bench/veth_peer.c on the host's side;
# runsc has no column for them: its `do` makes its own network.)
BENCHES=(
	"getppid|getppid (syscall round trip)|1000|1"
	"open_close|open + close /etc/hostname|200|1"
	"stat|stat /etc/passwd|200|1"
	"stat_missing|stat of a missing file|200|1"
	"pread_host|pread 4 KiB of a host file|500|1"
	"create_unlink|create + close + unlink of a host file (rvisor: --overlay=none)|100|1"
	"pwrite_host|pwrite 4 KiB to a host file (rvisor: --overlay=none)|500|1"
	"read_zero|read 4 KiB from /dev/zero|500|1"
	"fork_wait|fork + exit + wait|5|1"
	"fork_big|fork + exit + wait, 64 MiB written memory|2|1"
	"mmap_touch|mmap 16 MiB + touch, per 4 KiB page|1|4096"
	"pipe_pingpong|pipe ping-pong, 1 byte, round trip|100|1"
	"thread_join|thread create + join|20|1"
	"futex_pingpong|futex ping-pong between two threads, round trip|100|1"
	"signal_roundtrip|signal delivery round trip (raise + handler)|100|1"
	"tcp_pingpong|TCP loopback ping-pong, 1 byte, round trip|100|1"
	"tcp_bulk|TCP loopback bulk, per 64 KiB (MB/s = 65536000 / ns)|20|1"
	"udp_pingpong|UDP loopback ping-pong, 1 byte, round trip|100|1"
	"tcp_connect|TCP loopback connect + accept + close|20|1"
	"tcp_pingpong@host|TCP host loopback ping-pong, 1 byte, round trip, --network=host|100|1"
	"tcp_bulk@host|TCP host loopback bulk, per 64 KiB, --network=host (MB/s = 65536000 / ns)|20|1"
	"tcp_remote_pingpong@veth|TCP ping-pong across a veth, 1 byte, round trip, --network=sandbox|100|1"
	"tcp_remote_bulk@veth|TCP bulk across a veth, per 64 KiB, --network=sandbox (MB/s = 65536000 / ns)|20|1"
	"e2e_true|do /bin/true, per invocation|2|1"
	"e2e_ls50k|do ls -f of a 50,000-entry directory into wc -l, per invocation|1|1"
	"e2e_find_usr|do find /usr into wc -l, per invocation|1|1"
	"e2e_read_1g|do dd of a 1 GiB host file to /dev/null (1 MiB reads), per invocation|1|1"
	"e2e_write_1g|do dd of 1 GiB to a new host file (1 MiB writes; rvisor: --overlay=none), per invocation|1|1"
	"e2e_git_status|do git status in a 10,000-file checkout, per invocation|1|1"
	"e2e_tar_x|do tar x of a 128 MiB, 2,048-file archive into a host directory (rvisor: --overlay=none), per invocation|1|1"
)

# The @veth rows' network: a namespace with one end of a veth pair
# (10.251.0.2/24), the other on the host (10.251.0.1/24) where veth_peer
# serves. `rvisor --network=sandbox` takes the namespace's address over,
# so it is put back before every run.
# veth_setup runs once, in the script's own shell (before the rows);
# veth_ready before each run.
veth_setup() {
	if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null 2>&1; then
		add_note "the @veth rows need root and ip"
		return 1
	fi
	VETH_UP=1
	ip netns add "$VETH_NS" &&
		ip link add "$VETH_HOST" type veth peer name rvbs &&
		ip link set rvbs netns "$VETH_NS" &&
		ip addr add 10.251.0.1/24 dev "$VETH_HOST" &&
		ip link set "$VETH_HOST" up &&
		ip -n "$VETH_NS" link set rvbs up &&
		ip -n "$VETH_NS" link set lo up || {
		add_note "cannot make the veth pair"
		return 1
	}
	"$WORK/veth_peer" 10.251.0.1 5001 5002 &
	VETH_PEER_PID=$!
	export BENCH_PEER_IP=10.251.0.1 BENCH_PEER_ECHO=5001 BENCH_PEER_BULK=5002
	sleep 0.2
	VETH_OK=1
}

veth_ready() {
	[ "${VETH_OK:-0}" = 1 ] &&
		ip -n "$VETH_NS" addr replace 10.251.0.2/24 dev rvbs &&
		ip -n "$VETH_NS" route replace default via 10.251.0.1
}

# run_once ENV NAME ITERS -> prints ns_per_op on stdout, or nothing on failure
run_once() {
	local env=$1 name=$2 iters=$3 out
	local prog="$WORK/${name%@*}" net=none
	[[ "$name" == *@host ]] && net=host
	local -a cmd
	if [[ "$name" == *@veth ]]; then
		veth_ready || return 1
		case "$env" in
		native) cmd=(ip netns exec "$VETH_NS" "$prog" "$iters") ;;
		rvisor-*) cmd=(ip netns exec "$VETH_NS" "$RVISOR" do --platform "${env#rvisor-}" --network=sandbox -- "$prog" "$iters") ;;
		esac
	elif [[ "$name" == e2e_* ]]; then
		local -a what
		case "$name" in
		e2e_true) what=(/bin/true) ;;
		e2e_ls50k) what=(/bin/sh -c "ls -f $WORK/dir50k | wc -l") ;;
		e2e_find_usr) what=(/bin/sh -c "find /usr | wc -l") ;;
		e2e_read_1g) what=(dd if="$WORK/file1g" of=/dev/null bs=1M status=none) ;;
		e2e_write_1g) what=(/bin/sh -c "dd if=/dev/zero of=$WORK/w1g bs=1M count=1024 status=none && rm -f $WORK/w1g") ;;
		e2e_git_status) what=(git -C "$WORK/repo" status --porcelain) ;;
		e2e_tar_x) what=(/bin/sh -c "d=\$(mktemp -d $WORK/x.XXXXXX) && tar xf $WORK/big.tar -C \$d && rm -rf \$d") ;;
		esac
		# Rows that write host files run with writes going through.
		local -a extra=()
		case "$name" in
		e2e_write_1g | e2e_tar_x) extra=(--overlay=none) ;;
		esac
		case "$env" in
		native) cmd=("$WORK/spawn_loop" "$iters" "${what[@]}") ;;
		rvisor-*) cmd=("$WORK/spawn_loop" "$iters" "$RVISOR" do --platform "${env#rvisor-}" "${extra[@]}" -- "${what[@]}") ;;
		runsc) cmd=("$WORK/spawn_loop" "$iters" "${RUNSC_CMD[@]}" "${what[@]}") ;;
		esac
	else
		# Rows that write host files run with writes going through.
		local -a extra=()
		case "$name" in
		create_unlink | pwrite_host) extra=(--overlay=none) ;;
		esac
		case "$env" in
		native) cmd=("$prog" "$iters") ;;
		rvisor-*) cmd=("$RVISOR" do --platform "${env#rvisor-}" --network="$net" "${extra[@]}" -- "$prog" "$iters") ;;
		runsc) if [ "$net" = host ]; then
			cmd=("${RUNSC_HOST_CMD[@]}" "$prog" "$iters")
		else
			cmd=("${RUNSC_CMD[@]}" "$prog" "$iters")
		fi ;;
		esac
	fi
	local rc v
	out=$(
		cd / || exit 1
		timeout -k 5 "$TIMEOUT" "${cmd[@]}" </dev/null 2>"$WORK/last.err" | cat
		exit "${PIPESTATUS[0]}"
	)
	rc=$?
	v=$(printf '%s\n' "$out" | sed -n 's/^ns_per_op \([0-9.eE+-]*\)$/\1/p' | tail -1)
	if [ "$rc" != 0 ] || [ -z "$v" ]; then
		note "  $env $name $iters: failed (exit $rc): $(tail -2 "$WORK/last.err" | tr '\n' ' ')"
		return 1
	fi
	echo "$v"
}

# measure ENV NAME PILOT OPS -> prints the median ns/op, or "fail"
measure() {
	local env=$1 name=$2 n=$3 ops=$4 v t
	local target_ns=$((TARGET_MS * 1000000))
	# Calibrate: grow the pilot until one run's timed loop takes >= 50 ms.
	while :; do
		v=$(run_once "$env" "$name" "$n") || {
			echo fail
			return
		}
		t=$(awk -v v="$v" -v n="$n" -v o="$ops" 'BEGIN { printf "%.0f", v * n * o }')
		if [ "$t" -ge 50000000 ] || [ "$n" -ge 100000000 ]; then
			break
		fi
		n=$(awk -v n="$n" -v t="$t" 'BEGIN {
			f = (t > 0) ? 60000000 / t : 100; if (f > 100) f = 100; if (f < 2) f = 2
			printf "%.0f", n * f }')
	done
	n=$(awk -v v="$v" -v o="$ops" -v T="$target_ns" 'BEGIN {
		n = T / (v * o); if (n < 1) n = 1; if (n > 100000000) n = 100000000
		printf "%.0f", n }')
	local -a vals=()
	for ((r = 0; r < REPS; r++)); do
		v=$(run_once "$env" "$name" "$n") || {
			echo fail
			return
		}
		vals+=("$v")
	done
	note "  $env $name: n=$n ns/op=${vals[*]}"
	printf '%s\n' "${vals[@]}" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

ENVS=(native)
if [ "$HAVE_RVISOR" = 1 ]; then
	for p in $PLATFORMS; do ENVS+=("rvisor-$p"); done
fi
[ "$HAVE_RUNSC" = 1 ] && ENVS+=(runsc)

declare -A RESULT
for spec in "${BENCHES[@]}"; do
	IFS='|' read -r name label pilot ops <<<"$spec"
	if [ -n "${BENCH_ONLY:-}" ] && ! [[ " $BENCH_ONLY " == *" $name "* ]]; then
		continue
	fi
	if [[ "$name" == *@veth ]] && [ "${VETH_UP:-0}" != 1 ]; then
		veth_setup
	fi
	for env in "${ENVS[@]}"; do
		if [[ "$name" == *@veth && "$env" == runsc ]]; then
			RESULT[$name,$env]=n/a
			continue
		fi
		note "running $name ($env)"
		RESULT[$name,$env]=$(measure "$env" "$name" "$pilot" "$ops")
	done
done

# ---------------------------------------------------------------- table
fmt_ns() {
	case "$1" in
	'' | n/a) echo n/a ;;
	fail) echo fail ;;
	*) awk -v v="$1" 'BEGIN {
		if (v >= 100) { s = sprintf("%.0f", v); r = ""
			while (length(s) > 3) { r = "," substr(s, length(s) - 2) r; s = substr(s, 1, length(s) - 3) }
			print s r }
		else printf "%.1f\n", v }' ;;
	esac
}
ratio() {
	case "$1$2" in
	*fail* | *n/a*) echo "" ;;
	*) awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) { r = a / b; if (r >= 10) printf "%.0f×", r; else printf "%.2f×", r } }' ;;
	esac
}
cell() { # value [ratio-to]
	local v=${1:-n/a} base=${2:-}
	local s r
	s=$(fmt_ns "$v")
	if [ -n "$base" ]; then
		r=$(ratio "$v" "$base")
		[ -n "$r" ] && s="$s ($r)"
	fi
	echo "$s"
}

HEADER="| benchmark | native ns/op"
SEP="|---|---:"
for p in $PLATFORMS; do
	HEADER="$HEADER | rvisor-$p ns/op (× native)"
	SEP="$SEP|---:"
done
HEADER="$HEADER | runsc ns/op (× native)"
SEP="$SEP|---:"
for p in $PLATFORMS; do
	HEADER="$HEADER | rvisor-$p ÷ runsc"
	SEP="$SEP|---:"
done

echo
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); cores: $(nproc); kernel: $(uname -r)"
REV=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$REPO" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
	REV="$REV with uncommitted changes"
fi
echo "rvisor: $([ "$HAVE_RVISOR" = 1 ] && timeout 20 "$RVISOR" --version 2>/dev/null | head -1 || echo n/a) ($REV); platforms: $PLATFORMS"
echo "runsc: $RUNSC_VERSION$([ "$HAVE_RUNSC" = 1 ] && echo "; flags: $RUNSC_FLAGS do")"
echo "each cell: median of $REPS runs of ~${TARGET_MS} ms; ns/op, lower is better"
echo
echo "$HEADER |"
echo "$SEP|"
for spec in "${BENCHES[@]}"; do
	IFS='|' read -r name label pilot ops <<<"$spec"
	if [ -n "${BENCH_ONLY:-}" ] && ! [[ " $BENCH_ONLY " == *" $name "* ]]; then
		continue
	fi
	nat=${RESULT[$name,native]:-n/a}
	row="| $label | $(cell "$nat")"
	for p in $PLATFORMS; do
		row="$row | $(cell "${RESULT[$name,rvisor-$p]:-n/a}" "$nat")"
	done
	rs=${RESULT[$name,runsc]:-n/a}
	row="$row | $(cell "$rs" "$nat")"
	for p in $PLATFORMS; do
		r=$(ratio "${RESULT[$name,rvisor-$p]:-n/a}" "$rs")
		row="$row | ${r:-n/a}"
	done
	echo "$row |"
done
if [ "${#NOTES[@]}" -gt 0 ]; then
	echo
	for n in "${NOTES[@]}"; do echo "- note: $n"; done
fi
exit 0
