#!/usr/bin/env bash
# Conformance sweep: runs every stress-ng stressor natively and under
# `rvisor do`, each for a few seconds with --verify, and prints a Markdown
# table of the results. See docs/conformance.md.
#
# Usage: scripts/stress-ng-sweep.sh [--ci | --only a,b,c] [--platform P]
#            [--jobs N] [--timeout SECS] [--rvisor PATH] [--keep-logs DIR]
#
#   (default)      every stressor `stress-ng --stressors` lists, minus SKIP
#   --ci           the CI list below (stressors that pass in the sandbox today)
#   --only a,b,c   just these stressors (skip list not applied)
#   --platform P   rvisor platform: trap (default) or ptrace
#   --jobs N       stressors run N at a time (default 1; see docs: 2 makes
#                  timing-sensitive stressors flaky on a 2-core machine)
#   --timeout S    stress-ng --timeout per run (default 3, --ci 2)
#   --rvisor PATH  binary under test (default target/release/rvisor, built
#                  if missing)
#   --keep-logs D  keep every run's output in D (default: a temp dir, removed)
#   --rescan D     run nothing: classify the runs kept in D again and print
#                  the table (with the stressor list of the mode given)
#
# A result is `pass` (exit 0, "successful run completed" and no failure
# printed), `skip` (stress-ng itself skipped the stressor: missing feature,
# privilege or resource), `fail(exit N)`, `fail(errors)` (exit 0 but a
# stressor printed a failure) or `timeout` (still running 30 s after its
# stress-ng timeout: killed; `resources` natively needs ~15 s to wind down).
# The last line is `N passed, N failed`, where failed counts stressors that
# pass natively but not in the sandbox; the exit status is 1 if that is
# nonzero.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

# Stressors not run, one line each: they need hardware or host devices, or
# networking the sandbox does not have (raw, packet, ICMP, DCCP, SCTP and
# netlink sockets other than route). Loopback TCP/UDP (sock, sockabuse,
# sockmany, udp, udp-flood, netdev), AF_UNIX (sockpair, sockfd) and pure
# CPU-instruction ones (tsc, rdrand, x86cpuid) do run.
SKIP=(
	"cpu-online: offlines and onlines host CPUs through /sys/devices/system/cpu (hotplug hardware; disrupts a shared host)"
	"dccp: networking (DCCP sockets over loopback)"
	"efivar: reads EFI variables from /sys/firmware/efi (firmware)"
	"gpu: needs a GPU render node /dev/dri/renderD128"
	"icmp-flood: networking (raw ICMP sockets)"
	"idle-page: physical page tracking via /sys/kernel/mm/page_idle/bitmap (hardware pages)"
	"ioport: x86 I/O port access (ioperm, inb/outb on port 0x80)"
	"kvm: needs /dev/kvm (virtualisation hardware)"
	"loop: needs /dev/loop-control loop block devices"
	"memhotplug: memory hotplug through /sys/devices/system/memory"
	"netlink-proc: networking (netlink proc connector sockets)"
	"netlink-task: networking (netlink taskstats sockets)"
	"pci: reads PCI config space through /sys/bus/pci"
	"physpage: physical addresses via /proc/self/pagemap and /dev/mem"
	"ping-sock: networking (ICMP ping sockets)"
	"rawdev: raw reads of the host's block device"
	"rawpkt: networking (AF_PACKET sockets)"
	"rawsock: networking (raw IP sockets)"
	"rawudp: networking (raw UDP sockets)"
	"rtc: needs /dev/rtc (real-time clock hardware)"
	"sctp: networking (SCTP sockets)"
	"smi: System Management Interrupts via I/O port 0xb2 and MSRs"
	"sockdiag: networking (netlink sock_diag sockets)"
	"tun: networking (needs /dev/net/tun)"
	"uprobe: kernel uprobes via tracefs (perf/tracing infrastructure)"
	"watchdog: opens /dev/watchdog (can reboot the machine)"
)

# The --ci list: stressors that pass both natively and in the sandbox (trap
# and ptrace) today, chosen to cover each area the sentry serves (process
# lifecycle, signals, memory, files, pipes/IPC, timers, scheduling, plain
# compute) and to finish in ~3 minutes on a 2-core machine. It grows as fixes
# land: add a stressor here once the full sweep shows it passing.
CI=(
	cpu                                    # plain compute (baseline)
	fork vfork zombie                      # process lifecycle, wait
	signal sigfd                           # signal delivery, signalfd
	mmap mprotect mremap                   # memory mappings
	open dir rename fcntl xattr            # files and directories
	pipe eventfd futex poll                # pipes, wake-ups, polling
	timer clock                            # POSIX timers, clocks
	ptrace                                 # the sentry's own ptrace
	itimer wait                            # CPU-time timers, wait/stop/continue
	timerfd tee memfd seal                 # timerfd, splice family, memfd holes and seals
	readahead sync-file get                # file ranges, adjtimex
	sysfs numa schedpolicy ioprio          # /sys, NUMA, scheduling attributes
	landlock                               # Landlock rulesets enforced by the VFS
	sem-sysv mq membarrier kcmp            # SysV and POSIX IPC, membarrier, kcmp
	key                                    # keyrings (add_key, keyctl)
	sock udp epoll sockfd                  # loopback TCP/UDP, epoll, fd passing
	fsize fiemap handle remap aiol         # RLIMIT_FSIZE, extents, file handles, native AIO
	inotify dnotify fanotify               # directory and file events
	sigsegv usersyscall secretmem          # fault addresses, syscall user dispatch, memfd_secret
	userfaultfd                            # missing-page faults served by the program
	klog reboot swap                       # syslog(2), reboot and swapon argument checks
	chroot ramfs umount unshare            # chroot, mounts, namespaces
)

mode=full only="" platform=trap jobs=1 timeout="" rvisor="" keep_logs="" rescan=""
while [ $# -gt 0 ]; do
	case $1 in
	--ci) mode=ci ;;
	--only)
		mode=only
		only=$2
		shift
		;;
	--platform)
		platform=$2
		shift
		;;
	--jobs)
		jobs=$2
		shift
		;;
	--timeout)
		timeout=$2
		shift
		;;
	--rvisor)
		rvisor=$2
		shift
		;;
	--keep-logs)
		keep_logs=$2
		shift
		;;
	--rescan)
		rescan=$2
		shift
		;;
	-h | --help)
		sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "stress-ng-sweep: unknown option $1" >&2
		exit 2
		;;
	esac
	shift
done
[ -n "$timeout" ] || { [ $mode = ci ] && timeout=2 || timeout=3; }

if ! command -v stress-ng >/dev/null 2>&1; then
	scripts/install-deps.sh
fi
if [ -z "$rvisor" ] && [ -z "$rescan" ]; then
	rvisor=$ROOT/target/release/rvisor
	[ -x "$rvisor" ] || cargo build --release -p rvisor
fi

declare -A skip_reason=()
for line in "${SKIP[@]}"; do
	skip_reason[${line%%:*}]=${line#*: }
done

case $mode in
full) read -ra stressors <<<"$(stress-ng --stressors)" ;;
ci) stressors=("${CI[@]}") ;;
only) IFS=, read -ra stressors <<<"$only" ;;
esac

work=$(mktemp -d /tmp/stress-ng-sweep.XXXXXX)
logs=${rescan:-${keep_logs:-$work/logs}}
mkdir -p "$logs"

# Every run goes into its own pids cgroup so that processes it leaves behind
# (an `rvisor do` stub outliving its sentry would be a bug) are found and
# killed by PID. Without a writable cgroup v1 pids hierarchy there is no
# such check.
cgroot=""
if [ -n "$rescan" ]; then
	:
elif [ -w /sys/fs/cgroup/pids ] && mkdir "/sys/fs/cgroup/pids/stress-ng-sweep.$$" 2>/dev/null; then
	cgroot=/sys/fs/cgroup/pids/stress-ng-sweep.$$
else
	echo "stress-ng-sweep: no writable pids cgroup: stray processes are not checked" >&2
fi
cleanup() {
	if [ -n "$cgroot" ]; then
		for d in "$cgroot"/*/; do
			[ -d "$d" ] || continue
			while read -r pid; do kill -KILL "$pid" 2>/dev/null || true; done <"$d/cgroup.procs"
			rmdir "$d" 2>/dev/null || true
		done
		rmdir "$cgroot" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# run NAME KIND [PREFIX...] : runs one stress-ng invocation (after PREFIX)
# under an outer timeout; leaves its output in $logs/NAME.KIND.log, its exit
# status in .rc and stray processes it left in .stray, then classifies it.
run() {
	local name=$1 kind=$2
	shift 2
	local log=$logs/$name.$kind.log tmp=$work/tmp.$name.$kind cg=""
	mkdir -p "$tmp"
	if [ -n "$cgroot" ]; then
		cg=$cgroot/$name.$kind
		mkdir "$cg"
	fi
	local rc=0
	# (The outer 2>/dev/null drops bash's "Killed" notice for a timeout.)
	{ (
		[ -z "$cg" ] || echo $BASHPID >"$cg/cgroup.procs"
		cd "$tmp"
		exec timeout -k 5 $((timeout + 30)) "$@" stress-ng --"$name" 1 --timeout "${timeout}s" \
			--verify --metrics-brief --oomable --no-rand-seed --temp-path "$tmp"
	) </dev/null >"$log" 2>&1; } 2>/dev/null || rc=$?
	echo "$rc" >"$logs/$name.$kind.rc"
	: >"$logs/$name.$kind.stray"
	if [ -n "$cg" ]; then
		# PR_SET_PDEATHSIG and reaping are asynchronous: give them a moment.
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			[ -s "$cg/cgroup.procs" ] || break
			sleep 0.2
		done
		if [ -s "$cg/cgroup.procs" ]; then
			local pids
			pids=$(tr '\n' ' ' <"$cg/cgroup.procs")
			echo "left stray processes: $(ps -o pid=,comm= -p "${pids// /,}" 2>/dev/null | tr -s ' \n' ' ')" >"$logs/$name.$kind.stray"
			for pid in $pids; do kill -KILL "$pid" 2>/dev/null || true; done
			for _ in 1 2 3 4 5 6 7 8 9 10; do
				[ -s "$cg/cgroup.procs" ] || break
				sleep 0.2
			done
		fi
		rmdir "$cg" 2>/dev/null || true
	fi
	rm -rf "$tmp"
	classify "$name" "$kind"
}

# What stress-ng prints when it skips a whole stressor.
SKIPPED='skipping (the )?stress(or|( test))|will be skipped|No stress workers invoked|out of system resources'

# classify NAME KIND : writes "RESULT<TAB>MESSAGE" to $logs/NAME.KIND.result
# from the run's log, exit status and stray-process note.
classify() {
	local base=$logs/$1.$2 result msg rc
	local log=$base.log
	rc=$(cat "$base.rc" 2>/dev/null || true)
	if [ -z "$rc" ]; then
		# The script itself could not record the run (see the re-run
		# alone after a parallel pass).
		printf '%s\t%s\n' "fail(no exit status)" "the sweep recorded no exit status" >"$base.result"
		return
	fi
	# The message: the first failure stress-ng (or rvisor) printed. Every
	# sandboxed run prints "no CPUs found in /sys/devices/system/cpu" (an
	# error stress-ng carries on from); it is reported once, not per stressor.
	msg=$(grep -m1 -E '^stress-ng: fail: ' "$log" ||
		grep -E '^(stress-ng: error: |rvisor: )' "$log" |
		grep -m1 -vE 'no CPUs found in /sys/devices/system/cpu|terminated with an error|No stress workers invoked' ||
		true)
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		result=timeout
		msg="timeout"
		if grep -q 'run completed' "$log"; then
			msg="timeout (after stress-ng reported its run completed)"
		fi
	elif grep -qE "$SKIPPED" "$log" ||
		[ "$rc" -eq 3 ] || [ "$rc" -eq 4 ]; then
		# stress-ng skipped it: a missing feature, privilege or resource
		# (exit 0, 1 for stressors disabled by default, 3 or 4).
		result=skip
		msg=$(grep -m1 -E '^stress-ng: fail: ' "$log" ||
			grep -m1 -E "skipping|skipped|disabled '|$SKIPPED" "$log" || true)
	elif [ "$rc" -eq 0 ] && grep -q 'successful run completed' "$log"; then
		# stress-ng does not always turn a failure reported by a stressor's
		# child process into its exit status: such a run is no pass.
		if [ -n "$msg" ]; then
			result="fail(errors)"
		else
			result=pass
		fi
	else
		result="fail(exit $rc)"
		[ -n "$msg" ] || msg=$(grep -v 'no CPUs found' "$log" |
			grep -m1 -E 'fail|error|unsuccessful' || tail -n1 "$log")
	fi
	[ ! -s "$base.stray" ] || msg="$msg; $(cat "$base.stray")"
	msg=$(printf '%s' "$msg" | sed -E 's/^stress-ng: [a-z]+: +\[[0-9]+\] //; s/\|/\\|/g' | tr -d '\r')
	printf '%s\t%s\n' "$result" "$msg" >"$base.result"
}

sweep_one() {
	local name=$1
	run "$name" native
	run "$name" sandbox "$rvisor" do --platform "$platform" --
}

start=$(date +%s)
rerun_alone=()
to_run=()
for s in "${stressors[@]}"; do
	if [ $mode = full ] && [ -n "${skip_reason[$s]:-}" ]; then
		continue
	fi
	to_run+=("$s")
done
if [ -n "$rescan" ]; then
	for s in "${to_run[@]}"; do
		classify "$s" native
		classify "$s" sandbox
	done
elif [ "$jobs" -le 1 ]; then
	for s in "${to_run[@]}"; do
		sweep_one "$s"
		echo "stress-ng-sweep: $s: native $(cut -f1 "$logs/$s.native.result"), sandbox $(cut -f1 "$logs/$s.sandbox.result")" >&2
	done
else
	export -f run classify sweep_one
	export logs work cgroot timeout rvisor platform SKIPPED
	printf '%s\n' "${to_run[@]}" | xargs -P "$jobs" -I{} bash -c 'sweep_one "$1"; echo "stress-ng-sweep: $1 done" >&2' _ {}
	# A run beside a process-hungry stressor (fork, clone, resched) can be
	# lost whole: its worker shell killed or unable to fork, so no exit
	# status is recorded, natively as well as sandboxed. Those stressors
	# run again, one at a time, and the summary names them.
	for s in "${to_run[@]}"; do
		if [ -z "$(cat "$logs/$s.native.rc" 2>/dev/null)" ] ||
			[ -z "$(cat "$logs/$s.sandbox.rc" 2>/dev/null)" ]; then
			echo "stress-ng-sweep: $s: no exit status recorded beside the others, re-running alone" >&2
			sweep_one "$s"
			rerun_alone+=("$s")
		fi
	done
fi
wall="$(($(date +%s) - start))s wall"
[ -z "$rescan" ] || wall="re-classified from the kept logs"

passed=0 failed=0 native_pass=0 both_pass=0 skipped=0 native_other=0
echo "| stressor | native | sandbox ($platform) | sandbox message |"
echo "|---|---|---|---|"
for s in "${stressors[@]}"; do
	if [ $mode = full ] && [ -n "${skip_reason[$s]:-}" ]; then
		echo "| $s | skipped | skipped | ${skip_reason[$s]} |"
		skipped=$((skipped + 1))
		continue
	fi
	IFS=$'\t' read -r nres _ <"$logs/$s.native.result"
	IFS=$'\t' read -r sres smsg <"$logs/$s.sandbox.result"
	[ "$sres" = pass ] && smsg=""
	echo "| $s | $nres | $sres | ${smsg:-} |"
	if [ "$nres" = pass ]; then
		native_pass=$((native_pass + 1))
		if [ "$sres" = pass ]; then
			passed=$((passed + 1))
		else
			failed=$((failed + 1))
		fi
	else
		native_other=$((native_other + 1))
	fi
done
echo
echo "${#stressors[@]} stressors: $skipped skipped by this script, $native_other not passing natively, $native_pass passing natively; of those $passed pass and $failed fail in the sandbox ($platform, stress-ng --timeout ${timeout}s, $wall)."
[ ${#rerun_alone[@]} -eq 0 ] || echo "Re-run alone after the parallel pass (no exit status recorded there): ${rerun_alone[*]}."
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
