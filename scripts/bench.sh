#!/usr/bin/env bash
# Benchmarks: native vs rvisor (each platform) vs gVisor's runsc, in one run.
#
#   scripts/bench.sh [--install-runsc] [--no-build] [--macro] [--oci]
#
# --macro runs the macro benchmarks instead (whole programs: python, gcc,
# make, shells, tar, find, git, sqlite3, xz, `do /bin/true` cold and warm;
# the "macro" section below), MACRO_RUNS (default 3) runs per cell.
#
# --oci runs the OCI runtime rows instead: rvisor as a runc drop-in next to
# crun, runc and runsc (those installed), on one busybox-static bundle with
# no engine (`run` of /bin/true), under podman (`podman run --rm IMAGE
# true`), `exec` of /bin/true into a running container, and the idle memory
# of a container running `sleep` (every host process in its cgroup: RSS
# and PSS summed); OCI_RUNS (default 10) runs per cell, podman's 5.
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
MACRO=0
for arg in "$@"; do
	case "$arg" in
	--install-runsc) INSTALL_RUNSC=1 ;;
	--no-build) BUILD=0 ;;
	--macro) MACRO=1 ;;
	--oci) MACRO=oci ;;
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

# ---------------------------------------------------------------- helpers
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
# timed_run WHAT CMD... -> runs CMD from / (stdin /dev/null, bounded by
# TIMEOUT) and prints its "ns_per_op" value, or notes WHAT failed and
# returns 1.
timed_run() {
	local what=$1 out rc v
	shift
	out=$(
		cd / || exit 1
		timeout -k 5 "$TIMEOUT" "$@" </dev/null 2>"$WORK/last.err" | cat
		exit "${PIPESTATUS[0]}"
	)
	rc=$?
	v=$(printf '%s\n' "$out" | sed -n 's/^ns_per_op \([0-9.eE+-]*\)$/\1/p' | tail -1)
	if [ "$rc" != 0 ] || [ -z "$v" ]; then
		note "  $what: failed (exit $rc): $(tail -2 "$WORK/last.err" | tr '\n' ' ')"
		return 1
	fi
	echo "$v"
}
print_notes() {
	if [ "${#NOTES[@]}" -gt 0 ]; then
		echo
		for n in "${NOTES[@]}"; do echo "- note: $n"; done
	fi
}

# ---------------------------------------------------------------- macro
# Whole programs (scripts/bench.sh --macro runs only this section): each
# row is one command line, run by /bin/sh natively, under `rvisor do
# --platform P` and under `runsc do`, timed from outside (bench/wall.c:
# fork + exec + wait of the launcher, so a sandbox's start and end are
# included). Runs alternate: every repetition runs each row in every
# environment in turn, so load on the machine hits all columns alike. Each
# cell is the median of MACRO_RUNS (default 3) runs, in milliseconds.
#
# name | row label | kind (sh: CMD by /bin/sh -c; exec: argv as is; cold:
# argv as is after evicting the launcher's and the program's files from the
# host's page cache) | command
MACRO_ROWS=(
	"py_import|python3 -c 'import json,hashlib,sqlite3,subprocess,asyncio'|sh|/usr/bin/python3 -c 'import json,hashlib,sqlite3,subprocess,asyncio'"
	"gcc|gcc -O2 of a 50-line C file (compile + link)|sh|gcc -O2 -o \$M/gen.out \$M/gen.c"
	"make|make -j2 of a 12-file C project|sh|make -s -B -j2 -C \$M/proj"
	"spawn200|sh -c 'for i in \$(seq 200); do /bin/true; done'|sh|for i in \$(seq 200); do /bin/true; done"
	"subst1000|bash: 1,000 \$(...) substitutions|sh|bash \$M/subst.sh"
	"compileall|python3 -m compileall of 8 stdlib packages into a temporary directory|sh|rm -rf \$M/pyc && PYTHONPYCACHEPREFIX=\$M/pyc /usr/bin/python3 -m compileall -q -f \$M/pylib"
	"sqlite|sqlite3: insert 100,000 rows (one transaction, indexed)|sh|rm -f \$M/t.db && sqlite3 \$M/t.db < \$M/insert.sql"
	"xz|xz -T2 -1 of 64 MiB (text) into wc -c|sh|xz -T2 -1 -c \$M/xz.in | wc -c"
	"tar_doc|tar cf - /usr/share/doc into wc -c|sh|tar cf - /usr/share/doc 2>/dev/null | wc -c"
	"find_h|find /usr -name '*.h' into wc -l|sh|find /usr -name '*.h' | wc -l"
	"git_status|git status in a 200-file checkout|sh|cd \$M/gitrepo && git status --porcelain | wc -l"
	"ls50k|ls -f of a 50,000-entry directory into wc -l|sh|ls -f \$M/dir50k | wc -l"
	"true|/bin/true (warm)|exec|/bin/true"
	"true_cold|/bin/true, cold (launcher and /bin/true evicted from the page cache)|cold|/bin/true"
)

# macro_setup: the inputs the rows read, under $WORK (host files, visible
# in the sandboxes, whose root is the host's /). Generated, so a run needs
# nothing but the tools.
macro_setup() {
	local M=$WORK i j
	# A 50-line C file.
	{
		echo '#include <stdio.h>'
		echo '#include <string.h>'
		for i in $(seq 1 9); do
			echo "static int f$i(const char *s, int n) {"
			echo "	int h = $i;"
			echo "	for (int k = 0; k < n; k++) h = h * 31 + s[k % (int)strlen(s)];"
			echo '	return h;'
			echo '}'
		done
		echo 'int main(int argc, char **argv) {'
		echo '	(void)argc;'
		echo "	printf(\"%d\\n\", f1(argv[0], 10) + f2(argv[0], 20) + f9(argv[0], 3));"
		echo '	return 0;'
		echo '}'
	} >"$M/gen.c"
	# A make project: 12 sources, a header, a Makefile.
	mkdir -p "$M/proj"
	echo 'int unit(int i, int x);' >"$M/proj/units.h"
	for i in $(seq 1 11); do
		{
			echo '#include "units.h"'
			for j in $(seq 1 8); do
				echo "static int g${j}(int x) { int r = x; for (int k = 0; k < $j; k++) r = r * 7 + k; return r; }"
			done
			echo "int unit_$i(int x) { return g1(x) + g2(x) + g3(x) + g4(x) + g5(x) + g6(x) + g7(x) + g8(x); }"
		} >"$M/proj/u$i.c"
	done
	{
		echo '#include <stdio.h>'
		echo '#include "units.h"'
		for i in $(seq 1 11); do echo "int unit_$i(int x);"; done
		echo 'int main(void) { int s = 0;'
		for i in $(seq 1 11); do echo "	s += unit_$i($i);"; done
		echo '	printf("%d\n", s); return 0; }'
	} >"$M/proj/main.c"
	{
		printf 'OBJS = main.o'
		for i in $(seq 1 11); do printf ' u%s.o' "$i"; done
		printf '\n\nprog: $(OBJS)\n\tcc -o $@ $(OBJS)\n\n%%.o: %%.c units.h\n\tcc -O2 -c -o $@ $<\n'
	} >"$M/proj/Makefile"
	# 1,000 command substitutions (each a forked subshell, no exec).
	printf 'for i in $(seq 1000); do x=$(echo "$i"); done\n[ "$x" = 1000 ]\n' >"$M/subst.sh"
	# A stdlib subset for compileall (links, so the sources are the host's).
	mkdir -p "$M/pylib"
	local py
	py=$(/usr/bin/python3 -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
	for i in json email http asyncio concurrent logging urllib xml; do
		cp -r "$py/$i" "$M/pylib/" 2>/dev/null
	done
	find "$M/pylib" -name __pycache__ -prune -exec rm -rf {} +
	# sqlite3: 100,000 rows in one transaction into an indexed table.
	cat >"$M/insert.sql" <<'SQL'
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, v INTEGER);
CREATE INDEX t_v ON t(v);
BEGIN;
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000)
INSERT INTO t(name, v) SELECT printf('row %d', x), (x * 7919) % 100003 FROM c;
COMMIT;
SQL
	# 64 MiB of text for xz.
	seq 1 20000000 | head -c 64M >"$M/xz.in"
	# A git checkout of 200 files in 10 directories, index up to date.
	mkdir -p "$M/gitrepo"
	(
		cd "$M/gitrepo" || exit 1
		git init -q . &&
			for i in $(seq 0 9); do
				mkdir -p "d$i"
				for j in $(seq 1 20); do echo "file $i $j" >"d$i/f$j.txt"; done
			done &&
			git add . &&
			git -c user.name=bench -c user.email=bench@localhost commit -q -m init &&
			git status --porcelain >/dev/null
	) || return 1
	return 0
}

# macro_cmd ENV KIND CMD -> the argv (in MACRO_ARGV) that runs CMD in ENV
macro_cmd() {
	local env=$1 kind=$2 c=$3
	local -a what
	if [ "$kind" = sh ]; then
		what=(/bin/sh -c "M=$WORK; $c")
	else
		what=($c)
	fi
	case "$env" in
	native) MACRO_ARGV=("${what[@]}") ;;
	rvisor-*) MACRO_ARGV=("$RVISOR" do --platform "${env#rvisor-}" -- "${what[@]}") ;;
	runsc) MACRO_ARGV=("${RUNSC_CMD[@]}" "${what[@]}") ;;
	esac
}

# macro_evict FILE...: drops the files' pages from the host's page cache
# (posix_fadvise DONTNEED through dd; pages still mapped stay).
macro_evict() {
	local f
	for f in "$@"; do
		[ -f "$f" ] && dd if="$f" iflag=nocache count=0 status=none 2>/dev/null
	done
}

# macro_once ENV KIND CMD -> milliseconds, or nothing on failure
macro_once() {
	local env=$1 kind=$2 c=$3 out
	macro_cmd "$env" "$kind" "$c"
	if [ "$kind" = cold ]; then
		case "$env" in
		native) macro_evict "$(command -v "$c")" ;;
		rvisor-*) macro_evict "$RVISOR" "$(command -v "$c")" ;;
		runsc) macro_evict "$(command -v runsc)" "$(command -v "$c")" ;;
		esac
	fi
	out=$(timed_run "$env" "$WORK/wall" "${MACRO_ARGV[@]}") || return 1
	awk -v v="$out" 'BEGIN { printf "%.3f\n", v / 1e6 }'
}

macro_main() {
	local runs=${MACRO_RUNS:-3} spec name label kind c env r v
	note "macro: generating inputs"
	macro_setup || {
		note "macro: cannot generate the inputs"
		exit 1
	}
	local -a envs=(native)
	if [ "$HAVE_RVISOR" = 1 ]; then
		for p in $PLATFORMS; do envs+=("rvisor-$p"); done
	fi
	[ "$HAVE_RUNSC" = 1 ] && envs+=(runsc)
	declare -A vals
	for ((r = 1; r <= runs; r++)); do
		for spec in "${MACRO_ROWS[@]}"; do
			IFS='|' read -r name label kind c <<<"$spec"
			if [ -n "${BENCH_ONLY:-}" ] && ! [[ " $BENCH_ONLY " == *" $name "* ]]; then
				continue
			fi
			for env in "${envs[@]}"; do
				[ "${vals[$name,$env]:-}" = fail ] && continue
				note "macro run $r/$runs: $name ($env)"
				if v=$(macro_once "$env" "$kind" "$c"); then
					vals[$name,$env]="${vals[$name,$env]:-} $v"
				else
					vals[$name,$env]=fail
				fi
			done
		done
	done
	med() { # values... -> median
		case "$*" in
		'' | *fail*) echo fail ;;
		*) printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }' ;;
		esac
	}
	fmt_ms() {
		case "$1" in
		fail | n/a) echo "$1" ;;
		*) awk -v v="$1" 'BEGIN { if (v >= 100) printf "%.0f\n", v; else if (v >= 10) printf "%.1f\n", v; else printf "%.2f\n", v }' ;;
		esac
	}
	echo
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); cores: $(nproc); kernel: $(uname -r); load: $(cut -d' ' -f1-3 /proc/loadavg)"
	local rev
	rev=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
	echo "rvisor: $rev; platforms: $PLATFORMS; runsc: $RUNSC_VERSION$([ "$HAVE_RUNSC" = 1 ] && echo " ($RUNSC_FLAGS)")"
	echo "each cell: median of $runs runs, wall milliseconds including the sandbox's start (lower is better)"
	echo
	local header="| workload | native ms" sep="|---|---:"
	for p in $PLATFORMS; do
		header="$header | rvisor-$p ms (× native)"
		sep="$sep|---:"
	done
	header="$header | runsc ms (× native)"
	sep="$sep|---:"
	for p in $PLATFORMS; do
		header="$header | rvisor-$p ÷ runsc"
		sep="$sep|---:"
	done
	echo "$header |"
	echo "$sep|"
	local nat m rs row
	for spec in "${MACRO_ROWS[@]}"; do
		IFS='|' read -r name label kind c <<<"$spec"
		if [ -n "${BENCH_ONLY:-}" ] && ! [[ " $BENCH_ONLY " == *" $name "* ]]; then
			continue
		fi
		# shellcheck disable=SC2086
		nat=$(med ${vals[$name,native]:-})
		row="| $label | $(fmt_ms "$nat")"
		for p in $PLATFORMS; do
			if [ "$HAVE_RVISOR" = 1 ]; then
				# shellcheck disable=SC2086
				m=$(med ${vals[$name,rvisor-$p]:-})
				r=$(ratio "$m" "$nat")
				row="$row | $(fmt_ms "$m")${r:+ ($r)}"
			else
				row="$row | n/a"
			fi
		done
		rs=n/a
		# shellcheck disable=SC2086
		[ "$HAVE_RUNSC" = 1 ] && rs=$(med ${vals[$name,runsc]:-})
		r=$(ratio "$rs" "$nat")
		row="$row | $(fmt_ms "$rs")${r:+ ($r)}"
		for p in $PLATFORMS; do
			# shellcheck disable=SC2086
			m=n/a
			[ "$HAVE_RVISOR" = 1 ] && m=$(med ${vals[$name,rvisor-$p]:-})
			r=$(ratio "$m" "$rs")
			row="$row | ${r:-n/a}"
		done
		echo "$row |"
	done
	print_notes
	echo
	for spec in "${MACRO_ROWS[@]}"; do
		IFS='|' read -r name label kind c <<<"$spec"
		for env in "${envs[@]}"; do
			[ -n "${vals[$name,$env]:-}" ] && note "  $name $env:${vals[$name,$env]}"
		done
	done
	return 0
}

# ---------------------------------------------------------------- oci
# The runtime binaries as container engines call them (scripts/bench.sh
# --oci runs only this section). One busybox-static rootfs; each runtime
# gets its own bundle (cgroupsPath /rvisor-bench-PID/RUNTIME, so its
# processes can be found and counted) and state directory. Every
# runtime makes its cgroups (runsc too: no --ignore-cgroups here).
OCI_RUNSC_FLAGS=${OCI_RUNSC_FLAGS:---network=none --platform=ptrace}

# oci_rt RUNTIME -> the argv prefix (in OCI_RT) of its CLI
oci_rt() {
	case "$1" in
	rvisor) OCI_RT=("$RVISOR" --root "$WORK/oci-state/rvisor") ;;
	runsc)
		# shellcheck disable=SC2206
		OCI_RT=(runsc "--root=$WORK/oci-state/runsc" $OCI_RUNSC_FLAGS)
		;;
	crun) OCI_RT=("$OCI_CRUN" --root "$WORK/oci-state/crun") ;;
	*) OCI_RT=("$1" --root "$WORK/oci-state/$1") ;;
	esac
}

# oci_bundle RUNTIME NAME ARGS-JSON: $WORK/oci/RUNTIME-NAME
oci_bundle() {
	mkdir -p "$WORK/oci/$1-$2"
	python3 - "$WORK/oci/spec/config.json" "$WORK/oci/$1-$2/config.json" "$WORK/oci/rootfs" "$3" "/rvisor-bench-$$/$1" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["root"] = {"path": sys.argv[3], "readonly": False}
c["process"]["args"] = json.loads(sys.argv[4])
c["process"]["terminal"] = False
c["linux"]["cgroupsPath"] = sys.argv[5]
json.dump(c, open(sys.argv[2], "w"))
PY
}

# oci_cgroup_procs RUNTIME -> the pids in its container's cgroup
oci_cgroup_procs() {
	local d
	for d in /sys/fs/cgroup/memory/rvisor-bench-$$/$1 /sys/fs/cgroup/rvisor-bench-$$/$1; do
		[ -f "$d/cgroup.procs" ] && cat "$d/cgroup.procs" && return
	done
}

# oci_memory RUNTIME -> "RSS-kB PSS-kB" summed over its container's
# host processes
oci_memory() {
	local rss=0 pss=0 p r q
	for p in $(oci_cgroup_procs "$1"); do
		r=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
		q=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null)
		rss=$((rss + ${r:-0}))
		pss=$((pss + ${q:-0}))
	done
	echo "$rss $pss"
}

oci_main() {
	local runs=${OCI_RUNS:-10} pruns=5 rt i v img
	local -a rts=()
	[ "$HAVE_RVISOR" = 1 ] && rts+=(rvisor)
	for rt in crun runc runsc; do
		if command -v "$rt" >/dev/null 2>&1; then
			rts+=("$rt")
		else
			add_note "$rt is not installed: its column is n/a"
		fi
	done
	# crun refuses a hybrid host whose cgroup2 hierarchy holds a
	# controller (here hugetlb, mounted nowhere else): it runs in a mount
	# namespace of its own without that mount (unshare + umount: ~2 ms).
	OCI_CRUN=crun
	if [ -n "$(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null)" ]; then
		OCI_CRUN=$WORK/crun
		printf '#!/bin/sh\nexec unshare -m sh -c '"'"'umount /sys/fs/cgroup/unified 2>/dev/null; exec crun "$@"'"'"' crun "$@"\n' >"$OCI_CRUN"
		chmod +x "$OCI_CRUN"
		add_note "crun runs through a wrapper that unmounts /sys/fs/cgroup/unified in a mount namespace of its own (crun refuses a hybrid cgroup host whose v2 hierarchy has a controller: $(cat /sys/fs/cgroup/unified/cgroup.controllers))"
	fi
	local busybox
	busybox=$(command -v busybox) || {
		note "oci: busybox-static is missing"
		exit 1
	}
	mkdir -p "$WORK/oci/rootfs/bin" "$WORK/oci/rootfs/proc" "$WORK/oci/rootfs/sys" "$WORK/oci/rootfs/dev" \
		"$WORK/oci/rootfs/tmp" "$WORK/oci/spec" "$WORK/oci-state"
	cp "$busybox" "$WORK/oci/rootfs/bin/busybox"
	for i in $("$busybox" --list); do [ "$i" = busybox ] || ln -s busybox "$WORK/oci/rootfs/bin/$i"; done
	runc spec --bundle "$WORK/oci/spec" 2>/dev/null || "$RVISOR" spec --bundle "$WORK/oci/spec" || exit 1
	for rt in "${rts[@]}"; do
		oci_bundle "$rt" true '["/bin/true"]'
		oci_bundle "$rt" sleep '["sleep", "1000"]'
	done
	declare -A vals
	# Alternating: each repetition runs every runtime in turn.
	for ((i = 1; i <= runs; i++)); do
		for rt in "${rts[@]}"; do
			oci_rt "$rt"
			note "oci run $i/$runs: run /bin/true ($rt)"
			if v=$(timed_run "$rt run" "$WORK/wall" "${OCI_RT[@]}" run --bundle "$WORK/oci/$rt-true" "b$i"); then
				vals[run,$rt]="${vals[run,$rt]:-} $v"
			fi
			"${OCI_RT[@]}" delete --force "b$i" >/dev/null 2>&1
		done
	done
	# exec and idle memory: one container running sleep per runtime.
	for rt in "${rts[@]}"; do
		oci_rt "$rt"
		if ! timeout 60 "${OCI_RT[@]}" run --detach --bundle "$WORK/oci/$rt-sleep" idle </dev/null >/dev/null 2>"$WORK/last.err"; then
			note "  $rt run --detach: failed: $(tail -2 "$WORK/last.err" | tr '\n' ' ')"
			continue
		fi
		sleep 2
		vals[mem,$rt]=$(oci_memory "$rt")
		vals[procs,$rt]=$(oci_cgroup_procs "$rt" | wc -l)
		timed_run "$rt exec" "$WORK/wall" "${OCI_RT[@]}" exec idle /bin/true >/dev/null
		for ((i = 1; i <= runs * 2; i++)); do
			if v=$(timed_run "$rt exec" "$WORK/wall" "${OCI_RT[@]}" exec idle /bin/true); then
				vals[exec,$rt]="${vals[exec,$rt]:-} $v"
			fi
		done
		"${OCI_RT[@]}" kill idle KILL >/dev/null 2>&1
		sleep 0.5
		"${OCI_RT[@]}" delete --force idle >/dev/null 2>&1
	done
	# podman: an image of the same rootfs; no network (the runtime's
	# cost, not podman's network set-up), low rlimits (runc and crun
	# cannot raise podman's defaults above a host's low hard limits).
	if command -v podman >/dev/null 2>&1; then
		img=localhost/rvisor-bench:$$
		tar -C "$WORK/oci/rootfs" -cf "$WORK/oci/rootfs.tar" . && podman import -q "$WORK/oci/rootfs.tar" "$img" >/dev/null
		local -a pm
		for ((i = 1; i <= pruns; i++)); do
			for rt in "${rts[@]}"; do
				pm=(podman --runtime "$(command -v "$rt")")
				case "$rt" in
				rvisor) pm=(podman --runtime "$RVISOR") ;;
				crun) pm=(podman --runtime "$OCI_CRUN") ;;
				runsc) for f in $OCI_RUNSC_FLAGS; do pm+=(--runtime-flag "${f#--}"); done ;;
				esac
				note "oci podman run $i/$pruns ($rt)"
				if v=$(timed_run "podman $rt" "$WORK/wall" "${pm[@]}" run --rm --network none \
					--ulimit nofile=1024:1024 --ulimit nproc=1024:1024 "$img" true); then
					vals[podman,$rt]="${vals[podman,$rt]:-} $v"
				fi
			done
		done
		podman rmi -f "$img" >/dev/null 2>&1
	else
		add_note "podman is not installed: no podman row"
	fi
	rmdir /sys/fs/cgroup/*/rvisor-bench-$$ /sys/fs/cgroup/rvisor-bench-$$ 2>/dev/null
	med() {
		case "$*" in
		'') echo n/a ;;
		*) printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { printf "%.1f\n", a[int((NR + 1) / 2)] / 1e6 }' ;;
		esac
	}
	echo
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); cores: $(nproc); kernel: $(uname -r); load: $(cut -d' ' -f1-3 /proc/loadavg)"
	local rev ver
	rev=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
	ver="rvisor: $rev"
	for rt in crun runc runsc; do
		command -v "$rt" >/dev/null 2>&1 && ver="$ver; $rt: $("$rt" --version 2>/dev/null | head -1 | sed 's/^.*version //')"
	done
	echo "$ver; runsc flags: $OCI_RUNSC_FLAGS"
	echo "each time: median of $runs runs (podman: $pruns), wall milliseconds; memory: the container's host processes (its cgroup) summed, MB"
	echo
	local header="| row" sep="|---"
	for rt in "${rts[@]}"; do
		header="$header | $rt"
		sep="$sep|---:"
	done
	echo "$header | rvisor ÷ crun | runsc ÷ rvisor |"
	echo "$sep|---:|---:|"
	local row name label a b m
	for spec in "run|run of /bin/true on a bundle, no engine (ms)" "podman|podman run --rm IMAGE true (ms)" \
		"exec|exec /bin/true into a running container (ms)"; do
		IFS='|' read -r name label <<<"$spec"
		row="| $label"
		for rt in "${rts[@]}"; do
			# shellcheck disable=SC2086
			m=$(med ${vals[$name,$rt]:-})
			vals[med$name,$rt]=$m
			row="$row | $m"
		done
		a=$(ratio "${vals[med$name,rvisor]:-n/a}" "${vals[med$name,crun]:-n/a}")
		b=$(ratio "${vals[med$name,runsc]:-n/a}" "${vals[med$name,rvisor]:-n/a}")
		echo "$row | ${a:-n/a} | ${b:-n/a} |"
	done
	for spec in "1|idle memory, RSS summed (MB)" "2|idle memory, PSS summed (MB)"; do
		IFS='|' read -r i label <<<"$spec"
		row="| $label"
		for rt in "${rts[@]}"; do
			v=n/a
			[ -n "${vals[mem,$rt]:-}" ] && v=$(awk -v kb="$(echo "${vals[mem,$rt]}" | cut -d' ' -f"$i")" 'BEGIN { printf "%.1f", kb / 1024 }')
			vals[m$i,$rt]=$v
			row="$row | $v"
		done
		a=$(ratio "${vals[m$i,rvisor]:-n/a}" "${vals[m$i,crun]:-n/a}")
		b=$(ratio "${vals[m$i,runsc]:-n/a}" "${vals[m$i,rvisor]:-n/a}")
		echo "$row | ${a:-n/a} | ${b:-n/a} |"
	done
	row="| host processes of the idle container"
	for rt in "${rts[@]}"; do row="$row | ${vals[procs,$rt]:-n/a}"; done
	echo "$row | | |"
	print_notes
	return 0
}

if [ "$MACRO" = oci ]; then
	oci_main
	exit 0
fi

if [ "$MACRO" = 1 ]; then
	macro_main
	exit 0
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
	"crowd_syscalls|getppid from 64 processes at once, per call|2000|1"
	"crowd_pairs|futex ping-pong in 32 pairs of processes at once, round trip (natively: the host's cost of trap's hand-off on crowded CPUs)|2000|1"
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
	timed_run "$env $name $iters" "${cmd[@]}"
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
print_notes
exit 0
