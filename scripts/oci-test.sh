#!/usr/bin/env bash
# Drives rvisor's runc-compatible commands on a busybox bundle, and the
# same sequence under runc on the same bundle: the state fields and exit
# statuses must agree. Then rvisor-only checks (wait, bad input, a
# garbage control message). As root. Prints one line per check; the last
# line is "N passed, M failed"; exit status 0 only if none failed.
# A console-socket client (tests/oci/console.py) drives terminal: true.
#   scripts/oci-test.sh [--rvisor BIN] [--platform trap|ptrace] [--keep]
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

RVISOR=target/release/rvisor
PLATFORM=
KEEP=0
while [ $# -gt 0 ]; do
	case $1 in
	--rvisor) RVISOR=$2; shift ;;
	--platform) PLATFORM=$2; shift ;;
	--keep) KEEP=1 ;;
	*) echo "oci-test: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
RVISOR=$(realpath "$RVISOR")
BUSYBOX=$(command -v busybox) || { echo "oci-test: busybox-static missing" >&2; exit 2; }
command -v runc >/dev/null || { echo "oci-test: runc missing" >&2; exit 2; }

T=$(mktemp -d /tmp/oci-test.XXXXXX)
RV=("$RVISOR" --root "$T/state-rvisor" ${PLATFORM:+--platform "$PLATFORM"})
RC=(runc --root "$T/state-runc")
cleanup() {
	for rt in RV RC; do
		local -n cmd=$rt
		for id in $("${cmd[@]}" list -q 2>/dev/null); do
			"${cmd[@]}" delete --force "$id" >/dev/null 2>&1
		done
	done
	[ $KEEP = 1 ] || rm -rf "$T"
}
trap cleanup EXIT

. scripts/check.sh

# --- the bundles: one rootfs, several configs -----------------------------
mkdir -p "$T/rootfs/bin" "$T/rootfs/tmp" "$T/rootfs/proc" "$T/rootfs/sys" "$T/rootfs/dev"
cp "$BUSYBOX" "$T/rootfs/bin/busybox"
for a in $("$BUSYBOX" --list); do [ "$a" = busybox ] || ln -s busybox "$T/rootfs/bin/$a"; done
mkdir -p "$T/spec" "$T/rootfs/secret"
echo hidden >"$T/rootfs/secret/file"
"$RVISOR" spec --bundle "$T/spec" || { echo "FAIL spec"; exit 1; }
check "spec refuses to overwrite" 1 "$("$RVISOR" spec --bundle "$T/spec" 2>/dev/null; echo $?)"
bundle() { # bundle NAME ARGS-JSON
	mkdir -p "$T/$1"
	python3 - "$T/spec/config.json" "$T/$1/config.json" "$T/rootfs" "$2" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["root"] = {"path": sys.argv[3], "readonly": False}
c["process"]["args"] = json.loads(sys.argv[4])
c["process"]["terminal"] = False
c["hostname"] = "oci-test"
json.dump(c, open(sys.argv[2], "w"), indent=1)
PY
}
bundle loop '["sh", "-c", "trap \"exit 7\" TERM; sleep 30 & wait"]'
bundle exit3 '["sh", "-c", "echo out $(hostname); exit 3"]'
bundle tty '["sh"]'
bundle busy '["sh", "-c", "while :; do :; done"]'
bundle nocmd '["/no/such/command"]'
bundle mounts '["sh", "-c", "stat -c %a /data; echo x >/data/f && cat /data/f; touch /rod/f 2>&1 | grep -o Read-only; grep -c \" /data tmpfs \" /proc/mounts; touch /data2/f 2>&1 | grep -o Read-only; ls /secret | wc -l; ls /sys/firmware 2>/dev/null | wc -l"]'
python3 - "$T/mounts/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["mounts"] += [{"destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=700", "size=1m"]},
                {"destination": "/rod", "type": "tmpfs", "source": "tmpfs", "options": ["ro", "mode=755"]},
                {"destination": "/data2", "type": "tmpfs", "source": "tmpfs", "options": ["mode=755"]}]
c["linux"]["readonlyPaths"].append("/data2")
c["linux"]["maskedPaths"].append("/secret")
json.dump(c, open(sys.argv[1], "w"))
PY
# Host directories bound in, read-write and read-only (volumes through a
# gofer each under rvisor).
mkdir -p "$T/hostrw" "$T/hostro"
echo from-host >"$T/hostrw/in.txt"
bundle binds '["sh", "-c", "cat /hostrw/in.txt; echo written >/hostrw/out.txt; ls /hostro; touch /hostro/f 2>&1 | grep -o Read-only"]'
python3 - "$T/binds/config.json" "$T" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["mounts"] += [{"destination": "/hostrw", "type": "bind", "source": sys.argv[2] + "/hostrw", "options": ["rbind", "rw"]},
                {"destination": "/hostro", "type": "bind", "source": sys.argv[2] + "/hostro", "options": ["rbind", "ro"]}]
json.dump(c, open(sys.argv[1], "w"))
PY
# Resource limits (linux.resources through the container's cgroup):
# 200 MB touched under a 64 MiB limit (no swap) is killed by the host's
# OOM killer; a pids limit of 10 stops the tenth fork.
bundle oom '["sh", "-c", "x=$(head -c 200000000 /dev/zero | tr \\\\0 a); echo survived ${#x}"]'
bundle pids '["sh", "-c", "i=0; while [ $i -lt 20 ]; do sleep 2 & i=$((i+1)); echo $i; done"]'
bundle limits '["sh", "-c", "grep MemTotal /proc/meminfo; free | grep -o \"Mem: *[0-9]*\"; nproc; cat /sys/devices/system/cpu/online"]'
bundle limits-busy '["sh", "-c", "while :; do :; done"]'
bundle systemd '["sleep", "30"]'
python3 - "$T" "oci-test-$$" <<'PY'
import json, sys
t, top = sys.argv[1], sys.argv[2]
def res(name, r, path=None):
    c = json.load(open(f"{t}/{name}/config.json"))
    c["linux"]["resources"].update(r)
    if path: c["linux"]["cgroupsPath"] = path
    json.dump(c, open(f"{t}/{name}/config.json", "w"))
res("oom", {"memory": {"limit": 64 << 20, "swap": 64 << 20}})
res("pids", {"pids": {"limit": 10}})
lim = {"memory": {"limit": 64 << 20}, "cpu": {"quota": 20000, "period": 100000, "cpus": "0"}, "pids": {"limit": 50}}
res("limits", lim, f"/{top}/limits")
res("limits-busy", lim, f"/{top}/busy")
res("systemd", {}, f"{top.replace('-', '')}.slice:rvisor:ct")
PY
# Single host files bound on files (as engines bind /etc/hosts): read,
# appended to (the host sees it), read-only (EROFS), the mount point busy.
echo host-file >"$T/hostfile"
echo host-ro-file >"$T/hostfile.ro"
bundle filebinds '["sh", "-c", "cat /etc/hosts /ro.txt; echo appended >>/etc/hosts; echo x 2>&1 >/ro.txt | grep -o Read-only; rm /etc/hosts 2>&1 | grep -io busy; mv /ro.txt /x 2>&1 | grep -io busy; wc -c </etc/hosts"]'
python3 - "$T/filebinds/config.json" "$T" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["mounts"] += [{"destination": "/etc/hosts", "type": "bind", "source": sys.argv[2] + "/hostfile", "options": ["rbind", "rw"]},
                {"destination": "/ro.txt", "type": "bind", "source": sys.argv[2] + "/hostfile.ro", "options": ["bind", "ro"]}]
json.dump(c, open(sys.argv[1], "w"))
PY
# What of the runtime a container reaches (tests/oci/reach.c): its init
# tries the control socket (by path, abstract names, /proc/1/root), the
# sockets in /proc/*/fd and /proc/net/unix, and checks /proc/1/root.
cc -O1 -static -o "$T/rootfs/bin/reach" tests/oci/reach.c || { echo "FAIL cc tests/oci/reach.c"; exit 1; }
# (Its id, and so runc's cgroup of it, is this run's own: the test runs
# once per platform at the same time.)
reach=reach-$$
bundle reach "[\"/bin/reach\", \"$T/state-rvisor/$reach/ctl.sock\"]"
python3 - "$T/tty/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["process"]["terminal"] = True
c["process"]["consoleSize"] = {"height": 30, "width": 100}
json.dump(c, open(sys.argv[1], "w"))
PY
python3 - "$T/loop/config.json" "$T" <<'PY'
import json, os, sys
c = json.load(open(sys.argv[1])); t = sys.argv[2]
def hook(name, code="", timeout=None):
    # Appends "NAME status pid>0" to $LOG, from the state JSON on stdin.
    # (runc tells poststart hooks "created": the status is compared
    # rvisor-only, below.)
    script = ('s=$(cat); echo "%s $(echo "$s" | python3 -c \'import json,sys; s=json.load(sys.stdin);'
              ' print(s["status"], s.get("pid", 0) > 0, sorted(s))\')" >>"$LOG"%s' % (name, code))
    h = {"path": "/bin/sh", "args": ["sh", "-c", script], "env": ["LOG=" + t + "/hooks.log", "PATH=/usr/bin:/bin"]}
    if timeout: h["timeout"] = timeout
    return h
def bundle(name, hooks, args=None):
    d = json.loads(json.dumps(c)); d["hooks"] = hooks
    if args: d["process"]["args"] = args
    os.makedirs(f"{t}/{name}", exist_ok=True)
    json.dump(d, open(f"{t}/{name}/config.json", "w"))
# The hooks runc runs on the host in its own namespaces (createContainer
# and startContainer it runs in the container's: rvisor-only below).
bundle("hooks", {k: [hook(k)] for k in ["prestart", "createRuntime", "poststart", "poststop"]},
       ["sh", "-c", "exit 0"])
bundle("hooks-all", {k: [hook(k)] for k in ["prestart", "createRuntime", "createContainer",
                                            "startContainer", "poststart", "poststop"]})
bundle("hookfail", {"createRuntime": [hook("createRuntime", "; echo hook-said-no >&2; exit 3")]})
bundle("hookslow", {"createRuntime": [hook("createRuntime", "; sleep 20", timeout=1)]})
bundle("hookfail-start", {"poststart": [hook("poststart", "; exit 1")]})
PY
cat >"$T/process.json" <<'EOF'
{"args": ["sh", "-c", "echo proc $HOME $(pwd) $(id -u)"], "cwd": "/tmp",
 "env": ["PATH=/bin", "HOME=/x"], "user": {"uid": 7, "gid": 7}}
EOF
mkdir -p "$T/malformed" "$T/norootfs"
echo '{"ociVersion": "1.0.2", "process": ' >"$T/malformed/config.json"
python3 -c "
import json; c = json.load(open('$T/loop/config.json')); c['root']['path'] = '$T/absent'
json.dump(c, open('$T/norootfs/config.json', 'w'))"

# --- the sequence, run under both runtimes --------------------------------
gone() { # gone PID: "gone" once the process has ended (a zombie has)
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	case $st in "" | Z | X) echo gone ;; *) echo "alive ($st)" ;; esac
}
field() { python3 -c "import json,sys; print(json.load(sys.stdin).get('$1'))" 2>/dev/null; }
wait_status() { # wait_status RT ID STATUS: polls up to 10 s
	local -n c=$1
	for _ in $(seq 100); do
		[ "$("${c[@]}" state "$2" 2>/dev/null | field status)" = "$3" ] && break
		sleep 0.1
	done
	"${c[@]}" state "$2" 2>/dev/null | field status
}
cgdirs() { # cgdirs NAME: how many cgroup directories NAME there are
	find /sys/fs/cgroup -type d -name "$1" 2>/dev/null | wc -l
}
sequence() { # sequence RT: prints facts, one per line
	local -n c=$1
	local id=ct$$-$1
	echo "create: $("${c[@]}" create --bundle "$T/loop" "$id" </dev/null >/dev/null 2>&1; echo $?)"
	local st; st=$("${c[@]}" state "$id")
	echo "state after create: $(field status <<<"$st") id=$(field id <<<"$st")" \
		"bundle=$(field bundle <<<"$st") rootfs=$(field rootfs <<<"$st")" \
		"ociVersion=$(field ociVersion <<<"$st") pid>0=$([ "$(field pid <<<"$st")" -gt 0 ] && echo yes)"
	echo "state keys: $(python3 -c 'import json,sys; print(sorted(json.load(sys.stdin)))' <<<"$st")"
	echo "create duplicate: $("${c[@]}" create --bundle "$T/loop" "$id" 2>/dev/null; echo $?)"
	echo "list -q: $("${c[@]}" list -q | tr '\n' ' ')"
	echo "list json: $("${c[@]}" list --format json | python3 -c 'import json,sys; print([(s["id"], s["status"], sorted(s)) for s in json.load(sys.stdin)])')"
	echo "list table header: $("${c[@]}" list | head -1 | tr -s ' ')"
	echo "start: $("${c[@]}" start "$id"; echo $?)"
	echo "state after start: $(wait_status "$1" "$id" running)"
	echo "start twice: $("${c[@]}" start "$id" 2>/dev/null; echo $?)"
	sleep 0.3
	echo "ps json count: $("${c[@]}" ps --format json "$id" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
	echo "ps table: $("${c[@]}" ps "$id" | head -1 | tr -s ' ') / $("${c[@]}" ps "$id" | awk 'NR > 1 {print $1, $8, $9}' | sort | tr '\n' ' ')"
	echo "events --stats: $("${c[@]}" events --stats "$id" | python3 -c '
import json, sys
e = json.load(sys.stdin); d = e["data"]
# runc leaves memory.cache out when it is 0 (omitempty): not compared.
print(e["type"], e["id"] == sys.argv[1], sorted(e), sorted(d), sorted(d["cpu"]["usage"]), sorted(set(d["memory"]) - {"cache"}),
      sorted(d["memory"]["usage"]), d["pids"], d["cpu"]["usage"]["total"] > 0, d["memory"]["usage"]["usage"] > 0,
      sorted(d["cpuset"]), d["cpuset"]["cpus"] == list(range(len(d["cpuset"]["cpus"]))))' "$id")"
	echo "pause: $("${c[@]}" pause "$id"; echo $?) $("${c[@]}" state "$id" | field status)"
	echo "pause twice: $("${c[@]}" pause "$id" 2>/dev/null; echo $?)"
	echo "list paused: $("${c[@]}" list --format json | python3 -c 'import json,sys; print([s["status"] for s in json.load(sys.stdin)])')"
	echo "exec paused: $("${c[@]}" exec "$id" true 2>/dev/null; echo $?)"
	echo "resume: $("${c[@]}" resume "$id"; echo $?) $("${c[@]}" state "$id" | field status)"
	echo "resume twice: $("${c[@]}" resume "$id" 2>/dev/null; echo $?)"
	echo "delete running: $("${c[@]}" delete "$id" 2>/dev/null; echo $?)"
	echo "exec: $("${c[@]}" exec "$id" sh -c 'echo out ppid=$PPID; exit 3' 2>&1; echo "status $?")" | tr '\n' ' '
	echo
	echo "exec stdin: $(echo in | "${c[@]}" exec "$id" cat)"
	echo "exec flags: $("${c[@]}" exec -e FOO=bar --cwd /tmp -u 1000:1000 -g 10 -g 20 "$id" \
		sh -c 'echo $FOO $(pwd) $(id -u) $(id -g) $(id -G)')"
	echo "exec --cap: $("${c[@]}" exec --cap CAP_SYS_ADMIN "$id" grep CapEff /proc/self/status)"
	echo "exec --process: $("${c[@]}" exec --process "$T/process.json" "$id"; echo "status $?")" | tr '\n' ' '
	echo
	echo "exec killed: $("${c[@]}" exec "$id" sh -c 'kill -9 $$'; echo $?)"
	echo "exec missing: $("${c[@]}" exec "$id" nosuch 2>/dev/null; echo $?)"
	echo "exec no args: $("${c[@]}" exec "$id" 2>/dev/null; echo $?)"
	echo "exec unknown container: $("${c[@]}" exec nosuch true 2>/dev/null; echo $?)"
	echo "exec console socket, attached: $("${c[@]}" exec -t --console-socket "$T/none.sock" "$id" true 2>/dev/null; echo $?)"
	echo "exec -d: $("${c[@]}" exec -d --pid-file "$T/exec-$1.pid" "$id" sleep 1 </dev/null >/dev/null 2>&1; echo $?)" \
		"$(kill -0 "$(cat "$T/exec-$1.pid")" && echo alive)"
	python3 tests/oci/exec_tty.py "${c[*]}" "$id" "$T/exec-$1.sock" | sed 's/^/exec-t /'
	echo "kill 0: $("${c[@]}" kill "$id" 0; echo $?)"
	echo "kill TERM: $("${c[@]}" kill "$id" TERM; echo $?)"
	echo "state after kill: $(wait_status "$1" "$id" stopped) pid=$("${c[@]}" state "$id" | field pid)"
	echo "kill stopped: $("${c[@]}" kill "$id" KILL 2>/dev/null; echo $?)"
	echo "exec stopped: $("${c[@]}" exec "$id" true 2>/dev/null; echo $?)"
	echo "delete: $("${c[@]}" delete "$id"; echo $?)"
	echo "state deleted: $("${c[@]}" state "$id" >/dev/null 2>&1; echo $?)"
	echo "delete unknown: $("${c[@]}" delete "$id" 2>/dev/null; echo $?)"
	echo "delete --force unknown: $("${c[@]}" delete --force "$id" 2>/dev/null; echo $?)"
	echo "start unknown: $("${c[@]}" start nosuch 2>/dev/null; echo $?)"
	echo "kill by number, --all: $("${c[@]}" create --bundle "$T/loop" "$id" </dev/null >/dev/null 2>&1
		"${c[@]}" start "$id"; "${c[@]}" kill --all "$id" 9; echo $?) $(wait_status "$1" "$id" stopped)"
	"${c[@]}" delete "$id"
	echo "pause created: $("${c[@]}" create --bundle "$T/loop" "$id" </dev/null >/dev/null 2>&1
		"${c[@]}" pause "$id"; echo $?) $("${c[@]}" state "$id" | field status)" \
		"$("${c[@]}" resume "$id"; echo $?) $("${c[@]}" state "$id" | field status)"
	"${c[@]}" delete "$id"
	echo "delete created: $("${c[@]}" create --bundle "$T/loop" "$id" </dev/null >/dev/null 2>&1
		"${c[@]}" delete "$id"; echo $?) $("${c[@]}" list -q | wc -l)"
	echo "run: $("${c[@]}" run --bundle "$T/exit3" "$id" </dev/null 2>&1; echo "status $?")" \
		"left=$("${c[@]}" list -q | wc -l)" | tr '\n' ' '
	echo
	echo "mounts (tmpfs, ro tmpfs, masked and read-only paths): $("${c[@]}" run --bundle "$T/mounts" "$id" </dev/null 2>&1; echo "status $?")" |
		tr '\n' ' '
	echo
	rm -f "$T/hostrw/out.txt"
	echo "bind mounts (rw, ro): $("${c[@]}" run --bundle "$T/binds" "$id" </dev/null 2>&1; echo "status $?")" \
		"host sees: $(cat "$T/hostrw/out.txt" 2>&1)" | tr '\n' ' '
	echo
	echo "memory limit 64 MiB, 200 MB touched: $("${c[@]}" run --bundle "$T/oom" "$id" </dev/null 2>/dev/null; echo "status $?")" \
		"left=$("${c[@]}" list -q | wc -l) cgroups left=$(cgdirs "$id")"
	echo "pids limit 10: $("${c[@]}" run --bundle "$T/pids" "$id" </dev/null 2>/dev/null | tail -1)" \
		"left=$("${c[@]}" list -q | wc -l) cgroups left=$(cgdirs "$id")"
	echo host-file >"$T/hostfile"
	echo "file bind mounts (rw, ro): $("${c[@]}" run --bundle "$T/filebinds" "$id" </dev/null 2>&1; echo "status $?")" \
		"host sees: $(cat "$T/hostfile" 2>&1)" | tr '\n' ' '
	echo
	echo "run -d: $("${c[@]}" run -d --bundle "$T/loop" "$id" </dev/null >/dev/null 2>&1; echo $?)" \
		"$(wait_status "$1" "$id" running)"
	echo "run -d kill: $("${c[@]}" kill "$id" KILL; echo $?) $(wait_status "$1" "$id" stopped)"
	echo "run -d delete: $("${c[@]}" delete "$id"; echo $?)"
	rm -f "$T/hooks.log"
	echo "hooks: $("${c[@]}" run --bundle "$T/hooks" "$id" </dev/null >/dev/null 2>&1; echo $?)" \
		"$(cut -d' ' -f1,3- "$T/hooks.log" | tr '\n' '/')"
	rm -f "$T/hooks.log"
	echo "failing hook: $("${c[@]}" create --bundle "$T/hookfail" "$id" </dev/null >/dev/null 2>&1; echo $?)" \
		"left=$("${c[@]}" list -q | wc -l) $(tr '\n' '/' <"$T/hooks.log")"
	echo "failing poststart hook: $("${c[@]}" run -d --bundle "$T/hookfail-start" "$id" </dev/null >/dev/null 2>&1; echo $?)" \
		"$("${c[@]}" state "$id" 2>/dev/null | field status)"
	"${c[@]}" delete --force "$id" >/dev/null 2>&1
	echo "malformed config: $("${c[@]}" create --bundle "$T/malformed" bad 2>/dev/null; echo $?) left=$("${c[@]}" list -q | wc -l)"
	echo "missing rootfs: $("${c[@]}" create --bundle "$T/norootfs" bad 2>/dev/null; echo $?) left=$("${c[@]}" list -q | wc -l)"
	echo "bad id: $("${c[@]}" create --bundle "$T/loop" a/b 2>/dev/null; echo $?)"
	echo "bad signal: $("${c[@]}" kill x NOSUCHSIG 2>/dev/null; echo $?)"
}
console() { # console RT: terminal: true through --console-socket
	local -n c=$1
	python3 tests/oci/console.py "${c[*]}" "$T/tty" \
		"tty$$-$1" "$T/console-$1.sock" | sed 's/^/console /'
}
{ sequence RV; console RV; } >"$T/rvisor.txt" 2>"$T/rvisor.err"
{ sequence RC; console RC; } >"$T/runc.txt" 2>"$T/runc.err"
# The ids differ by name only (unique per run: runc names its cgroups
# after them).
sed -i "s/ct$$-RV/ct/g" "$T/rvisor.txt"
sed -i "s/ct$$-RC/ct/g" "$T/runc.txt"
while IFS= read -r line; do
	name=${line%%:*}
	theirs=$(grep -m1 -F "$name:" "$T/runc.txt")
	check "same as runc: $name" "${theirs#*: }" "${line#*: }"
done <"$T/rvisor.txt"
check "runc transcript length" "$(wc -l <"$T/runc.txt")" "$(wc -l <"$T/rvisor.txt")"
check "the terminal clients ran" "0 0" "$(grep -c Traceback "$T/rvisor.err") $(grep -c Traceback "$T/runc.err")"

# --- rvisor only ----------------------------------------------------------
# Unique per run: the container's cgroup is named after its id, and the
# other platform's run may be going at the same time.
id=only-$$
"${RV[@]}" create --bundle "$T/loop" $id </dev/null >/dev/null 2>&1
sock="$T/state-rvisor/$id/ctl.sock"
ctl_send() { # ctl_send SOCK KIND [JSON]: sends a message (KIND huge, json,
	# unknown, short: garbage; raw: JSON as given), prints the reply's kind
	python3 - "$@" <<'PY'
import json, socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
kind = sys.argv[2]
if kind == "huge": s.sendall(struct.pack(">I", 1 << 30) + b"x" * 1000)
elif kind == "json": s.sendall(struct.pack(">I", 5) + b"{{{{{")
elif kind == "unknown": m = b'{"type":"format-disk"}'; s.sendall(struct.pack(">I", len(m)) + m)
elif kind == "short": s.sendall(b"\x00\x00")
elif kind == "raw": m = sys.argv[3].encode(); s.sendall(struct.pack(">I", len(m)) + m)
s.shutdown(socket.SHUT_WR)
hdr = s.recv(4)
if len(hdr) < 4: print("closed"); sys.exit()
n = struct.unpack(">I", hdr)[0]; body = b""
while len(body) < n:
    chunk = s.recv(n - len(body))
    if not chunk: break
    body += chunk
print("error" if "error" in json.loads(body) else "accepted")
PY
}
garbage() { ctl_send "$sock" "$1"; }
for k in huge json unknown short; do
	check "garbage control message ($k) refused" error "$(garbage $k)"
done
check "state after garbage" created "$("${RV[@]}" state $id | field status)"
"${RV[@]}" start $id
check "started after garbage" running "$(wait_status RV $id running)"
"${RV[@]}" wait $id >"$T/wait.out" &
waiter=$!
sleep 0.3
"${RV[@]}" kill $id TERM
wait $waiter
check "wait: init's exit status" "{\"exitStatus\":7,\"id\":\"$id\"}" "$(cat "$T/wait.out")"
check "wait after the end" "{\"exitStatus\":7,\"id\":\"$id\"}" "$("${RV[@]}" wait $id)"
"${RV[@]}" delete $id
check "delete removed the state directory" no "$([ -e "$T/state-rvisor/$id" ] && echo yes || echo no)"
"${RV[@]}" create --bundle "$T/loop" $id </dev/null >/dev/null 2>&1
pid=$("${RV[@]}" state $id | field pid)
kill -9 "$pid"
check "state after the sandbox was killed" stopped "$(wait_status RV $id stopped)"
check "delete after the sandbox was killed" 0 "$("${RV[@]}" delete $id; echo $?)"
"${RV[@]}" create --bundle "$T/loop" $id </dev/null >/dev/null 2>&1
pid=$("${RV[@]}" state $id | field pid)
kill -STOP "$pid" # a hung sandbox: no answer on its control socket
check "delete --force of a hung sandbox" "0 gone" "$("${RV[@]}" delete --force $id; echo $?) $(gone "$pid")"
# pause: the sandbox's host processes use no CPU meanwhile.
descendants() { # descendants PID: PID and every process below it
	ps -e -o pid=,ppid= | awk -v root="$1" '
		{ kids[$2] = kids[$2] " " $1 }
		END { q[1] = root; n = 1; for (i = 1; i <= n; i++) { print q[i]; m = split(kids[q[i]], k, " "); for (j = 1; j <= m; j++) q[++n] = k[j] } }'
}
ticks() { # ticks PID: CPU ticks used by PID and its descendants (gofer, stubs)
	local t=0 p f
	for p in $(descendants "$1"); do
		read -ra f <<<"$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null)"
		t=$((t + ${f[11]:-0} + ${f[12]:-0}))
	done
	echo $t
}
busy_for_1s() { local a; a=$(ticks "$1"); sleep 1; echo $(($(ticks "$1") - a)); }
"${RV[@]}" run -d --bundle "$T/busy" $id </dev/null >/dev/null 2>&1
pid=$("${RV[@]}" state $id | field pid)
sleep 0.2
check "a busy container uses CPU" yes "$([ "$(busy_for_1s "$pid")" -gt 5 ] && echo yes)"
"${RV[@]}" pause $id
used=$(busy_for_1s "$pid")
check "paused: no CPU used in 1 s (ticks: $used)" yes "$([ "$used" -le 2 ] && echo yes)"
"${RV[@]}" resume $id
check "resumed: CPU used again" yes "$([ "$(busy_for_1s "$pid")" -gt 5 ] && echo yes)"
"${RV[@]}" events --interval 1 $id >"$T/events.out" &
events=$!
sleep 1.5
"${RV[@]}" pause $id
check "kill KILL of a paused container" "0 stopped" "$("${RV[@]}" kill $id KILL; echo $?) $(wait_status RV $id stopped)"
for _ in $(seq 30); do kill -0 $events 2>/dev/null || break; sleep 0.1; done
check "events --interval: stats lines, the stream ends with the container" "stats stats gone" \
	"$(head -2 "$T/events.out" | python3 -c 'import json,sys; print(*(json.loads(l)["type"] for l in sys.stdin))') $(gone $events)"
"${RV[@]}" delete $id
# The container's cgroup: every host process of the sandbox in it, the
# limits written, enforced, shown inside; gone after delete.
cg=oci-test-$$
check "limits seen inside: MemTotal, free, nproc, online CPUs" "MemTotal: 65536 kB Mem: 65536 1 0" \
	"$("${RV[@]}" run --bundle "$T/limits" $id </dev/null 2>&1 | tr -s ' \n' '  ' | sed 's/ $//')"
"${RV[@]}" run -d --bundle "$T/limits-busy" $id </dev/null >/dev/null 2>&1
pid=$("${RV[@]}" state $id | field pid)
sleep 0.3
for h in memory cpu pids cpuset unified; do
	[ -d /sys/fs/cgroup/$h ] || continue
	check "cgroup ($h): every host process of the sandbox is in it" "$(descendants "$pid" | sort -n | tr '\n' ' ')" \
		"$(sort -n /sys/fs/cgroup/$h/$cg/busy/cgroup.procs | tr '\n' ' ')"
done
if [ -d /sys/fs/cgroup/memory/$cg ]; then
	check "cgroup v1: the limits written" "67108864 20000 100000 0 164" \
		"$(cat /sys/fs/cgroup/memory/$cg/busy/memory.limit_in_bytes /sys/fs/cgroup/cpu/$cg/busy/cpu.cfs_{quota,period}_us \
			/sys/fs/cgroup/cpuset/$cg/busy/cpuset.cpus /sys/fs/cgroup/pids/$cg/busy/pids.max | tr '\n' ' ' | sed 's/ $//')"
elif [ -f /sys/fs/cgroup/$cg/busy/memory.max ]; then
	check "cgroup v2: the limits written" "67108864 20000 100000 0 164" \
		"$(cat /sys/fs/cgroup/$cg/busy/{memory.max,cpu.max,cpuset.cpus,pids.max} | tr '\n' ' ' | sed 's/ $//')"
fi
used=$(busy_for_1s "$pid")
check "a CPU quota of 0.2: at most ~0.2 CPU used in 1 s (ticks: $used)" yes "$([ "$used" -le 30 ] && echo yes)"
"${RV[@]}" kill $id KILL
wait_status RV $id stopped >/dev/null
"${RV[@]}" delete $id
check "delete removed the cgroup" 0 "$(find /sys/fs/cgroup -type d -path "*/$cg/busy" 2>/dev/null | wc -l)"
"${RV[@]}" --systemd-cgroup run -d --bundle "$T/systemd" $id </dev/null >/dev/null 2>&1
check "--systemd-cgroup: slice:prefix:name is a scope below the slice" 1 \
	"$(find /sys/fs/cgroup/pids/${cg//-/}.slice /sys/fs/cgroup/${cg//-/}.slice -maxdepth 1 -name rvisor-ct.scope 2>/dev/null | wc -l)"
"${RV[@]}" delete --force $id
check "--systemd-cgroup: delete removed it" 0 "$(cgdirs rvisor-ct.scope)"
rmdir /sys/fs/cgroup/*/$cg /sys/fs/cgroup/*/${cg//-/}.slice /sys/fs/cgroup/$cg /sys/fs/cgroup/${cg//-/}.slice 2>/dev/null
rm -f "$T/hooks.log"
"${RV[@]}" create --bundle "$T/hooks-all" $id </dev/null >/dev/null 2>&1
"${RV[@]}" start $id
"${RV[@]}" kill $id KILL
wait_status RV $id stopped >/dev/null
"${RV[@]}" delete $id
check "hooks: all six, in order, with the state" \
	"prestart createRuntime createContainer startContainer poststart poststop" "$(cut -d' ' -f1 "$T/hooks.log" | tr '\n' ' ' | sed 's/ $//')"
check "hooks: the status each sees" "creating creating creating created running stopped" \
	"$(cut -d' ' -f2 "$T/hooks.log" | tr '\n' ' ' | sed 's/ $//')"
err=$("${RV[@]}" create --bundle "$T/hookfail" $id 2>&1 </dev/null)
check "failing hook: one line on stderr, with the hook's" "1 yes" "$(wc -l <<<"$err") $(grep -q hook-said-no <<<"$err" && echo yes)"
# create kills and reaps the sandbox's processes (boot, gofer, stub
# factory, stubs) before it returns: none is left, not even to be reaped
# by whoever adopts it (orphans.py makes itself that adopter and counts).
# (The pattern names this run's state directory: the other platform's run
# may have a container of that name too.)
check "failing hook: no sandbox process left" "" "$(pgrep -f "$T/state-rvisor/$id")"
check "failing hook: nothing left for a reaper" "status 1 left 0" \
	"$(python3 tests/oci/orphans.py "${RV[@]}" create --bundle "$T/hookfail" $id)"
check "sandbox that never gets ready: nothing left for a reaper" "status 1 left 0" \
	"$(python3 tests/oci/orphans.py "${RV[@]}" create --bundle "$T/nocmd" $id)"
start=$SECONDS
check "hook timeout: create fails" "1 0" "$("${RV[@]}" create --bundle "$T/hookslow" $id </dev/null >/dev/null 2>&1; echo $?) $("${RV[@]}" list -q | wc -l)"
check "hook timeout: within its 1 s" yes "$([ $((SECONDS - start)) -le 3 ] && echo yes)"
"${RV[@]}" --log "$T/hook-log.json" --log-format json create --bundle "$T/hookfail" $id </dev/null 2>/dev/null
check "failing hook: a JSON error line" "error" "$(tail -1 "$T/hook-log.json" | field level)"
out=$("${RV[@]}" run --bundle "$T/exit3" $id </dev/null 2>/dev/null)
check "run: output and hostname" "out oci-test" "$out"
check "run: nothing of the sandbox left for a reaper" "status 3 left 0" \
	"$(python3 tests/oci/orphans.py "${RV[@]}" run --bundle "$T/exit3" $id)"
check "malformed config: one line on stderr" 1 "$("${RV[@]}" create --bundle "$T/malformed" bad 2>&1 | wc -l)"
"${RV[@]}" --log "$T/log.json" --log-format json create --bundle "$T/malformed" bad 2>/dev/null
check "--log-format json: an error line" "error" "$(tail -1 "$T/log.json" | field level)"
# A state directory deeper than a socket address holds (107 bytes), as
# engines make them (Docker: --exec-root/runtime-runc/moby/<64 hex>/).
LR=("$RVISOR" --root "$T/$(printf 'd%.0s' {1..100})" ${PLATFORM:+--platform "$PLATFORM"})
long=("$("${LR[@]}" create --bundle "$T/loop" $id </dev/null >/dev/null 2>&1; echo $?)"
	"$("${LR[@]}" state $id | field status)" "$("${LR[@]}" start $id; echo $?)" "$(wait_status LR $id running)"
	"$("${LR[@]}" kill $id KILL; echo $?)" "$(wait_status LR $id stopped)" "$("${LR[@]}" delete $id; echo $?)")
check "a state directory past 107 bytes: create, start, state, kill, delete" \
	"0 created 0 running 0 stopped 0" "${long[*]}"
check "unknown flag refused" 1 "$("${RV[@]}" create --no-such-flag x 2>/dev/null; echo $?)"
check "features: JSON" "1.0.0" "$("$RVISOR" features | field ociVersionMin)"
# --- pods: containers in one sandbox ----------------------------------------
# A container whose spec names another container's sandbox (by a
# namespace path of its sandbox process, as podman's pods do, or by CRI
# annotations) runs inside that sandbox: the IPC objects one makes
# (tests/oci/podipc.c) are the other's; each has its own root (a file of
# one rootfs is absent in the other, by path and through /proc/1/root:
# a security check) and pid namespace (its init is its pid 1).
cc -O1 -static -o "$T/rootfs/bin/podipc" tests/oci/podipc.c || { echo "FAIL cc tests/oci/podipc.c"; exit 1; }
mkdir -p "$T/rootfs2"
cp -a "$T/rootfs/bin" "$T/rootfs/tmp" "$T/rootfs/proc" "$T/rootfs/sys" "$T/rootfs/dev" "$T/rootfs2/"
echo member-file >"$T/rootfs2/member-only"
bundle pod-infra '["sh", "-c", "podipc put; exec sleep 30"]'
pid_id=pod-$$
"${RV[@]}" run -d --bundle "$T/pod-infra" $pid_id </dev/null >/dev/null 2>&1
ipid=$("${RV[@]}" state $pid_id | field pid)
for _ in $(seq 50); do "${RV[@]}" exec $pid_id podipc get 2>/dev/null | grep -q 'shm: shm' && break; sleep 0.1; done
member() { # member NAME HOW ARGS-JSON: a bundle on rootfs2 joining the pod
	bundle "$1" "$3"
	python3 - "$T/$1/config.json" "$2" "$ipid" "$pid_id" "$T/rootfs2" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["root"]["path"] = sys.argv[5]
if sys.argv[2] == "ns":
    c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] not in ("ipc", "uts", "network")]
    for t, n in (("ipc", "ipc"), ("uts", "uts"), ("network", "net")):
        c["linux"]["namespaces"].append({"type": t, "path": "/proc/%s/ns/%s" % (sys.argv[3], n)})
elif sys.argv[2] == "cri":
    c["annotations"] = {"io.kubernetes.cri.container-type": "container",
                        "io.kubernetes.cri.sandbox-id": sys.argv[4]}
json.dump(c, open(sys.argv[1], "w"))
PY
}
probe='["sh", "-c", "podipc get; cat /secret/file 2>&1 | grep -o \"No such file\"; ls /proc/1/root/secret 2>&1 | grep -o \"No such file\"; cat /member-only; hostname; echo pid $$; echo sleeps $(cat /proc/[0-9]*/comm | grep -c sleep)"]'
for how in ns cri; do
	member "pod-$how" $how "$probe"
	check "pod container ($how): shares IPC, its own root and pids" \
		"shm: shm-from-infra mq: mq-from-infra No such file No such file member-file oci-test pid 1 sleeps 0 status 0" \
		"$("${RV[@]}" run --bundle "$T/pod-$how" "$pid_id-$how" </dev/null 2>&1 | tr '\n' ' ')status $?"
done
# The control: a container of its own sees none of the pod's objects.
member pod-none none "$probe"
check "a container of its own: no IPC object of the pod's" "shm: absent (ENOENT) mq: absent (ENOENT)" \
	"$("${RV[@]}" run --bundle "$T/pod-none" "$pid_id-none" </dev/null 2>&1 | head -2 | tr '\n' ' ' | sed 's/ $//')"
check "security: the pod's sandbox container does not see a pod container's files" "No such file" \
	"$("${RV[@]}" exec $pid_id cat /member-only 2>&1 | grep -o 'No such file')"
# Its life cycle, addressed by its id through the pod sandbox's socket.
m=$pid_id-m
member pod-m cri '["sh", "-c", "trap \"exit 7\" TERM; sleep 30 & wait"]'
life=("$("${RV[@]}" create --bundle "$T/pod-m" $m </dev/null >/dev/null 2>&1; echo $?)" "$("${RV[@]}" state $m | field status)"
	"$("${RV[@]}" start $m; echo $?)" "$(wait_status RV $m running)" "$("${RV[@]}" exec $m sh -c 'echo in $(cat /member-only)')")
"${RV[@]}" wait $m >"$T/pod-wait.out" &
waiter=$!
sleep 0.3
life+=("$("${RV[@]}" kill $m TERM; echo $?)")
wait $waiter
life+=("$(cat "$T/pod-wait.out")" "$(wait_status RV $m stopped)" "$("${RV[@]}" delete $m; echo $?)" "$("${RV[@]}" state $pid_id | field status)")
check "pod container: create, state, start, exec, kill, wait, delete; the pod's sandbox runs on" \
	"0 created 0 running in member-file 0 {\"exitStatus\":7,\"id\":\"$m\"} stopped 0 running" "${life[*]}"
# delete --force of a running one: its processes end, its monitor and
# gofers go; the next one starts in the same sandbox.
"${RV[@]}" run -d --bundle "$T/pod-m" $m </dev/null >/dev/null 2>&1
mpid=$("${RV[@]}" state $m | field pid)
kids=$(descendants "$mpid" | tail -n +2)
check "pod container: its monitor holds its gofers" yes "$([ -n "$kids" ] && echo yes)"
check "pod container: kill --all reaches its processes only" "0 running" \
	"$("${RV[@]}" kill --all $m KILL; echo $?) $("${RV[@]}" state $pid_id | field status)"
"${RV[@]}" delete --force $m >/dev/null 2>&1
check "pod container: delete --force ends its monitor and gofers" "gone gone" "$(gone "$mpid") $(for k in $kids; do gone "$k"; done | sort -u)"
check "pod's sandbox after its containers' delete" running "$("${RV[@]}" state $pid_id | field status)"
# Malformed pod requests are refused, the sandbox unharmed.
podmsg() { ctl_send "$T/state-rvisor/$pid_id/ctl.sock" raw "$1"; }
for msg in '{"type":"join","container":"x","process":{"args":["true"],"cwd":"/"},"mounts":[],"tty":false}' \
	'{"type":"join","container":"../x","process":{},"mounts":[],"tty":false}' \
	'{"type":"join","container":"x","process":{},"mounts":[{"target":"/a","source":"Nope","options":""}],"tty":false}' \
	'{"type":"join","container":"x"}' \
	'{"type":"for","container":"nope","request":{"type":"start"}}' \
	'{"type":"for","container":"nope","request":{"type":"destroy"}}' \
	'{"type":"for","container":"x","request":{"type":"for","container":"x","request":{"type":"state"}}}' \
	'{"type":"for","container":"x","request":"start"}'; do
	check "malformed pod request refused: $msg" error "$(podmsg "$msg")"
done
check "pod's sandbox after malformed requests" running "$("${RV[@]}" state $pid_id | field status)"
"${RV[@]}" delete --force $pid_id >/dev/null 2>&1

# --- security: the runtime's sockets are out of the container's reach ----
rv_reach=$("${RV[@]}" run --bundle "$T/reach" $reach </dev/null 2>&1)
check "reach: nothing of the runtime reached, every control ok (rvisor)" "0 0" \
	"$(grep -c 'reached' <<<"$rv_reach") $(grep '^CONTROL' <<<"$rv_reach" | grep -vc ': ok$')"
check "reach: the same lines as under runc" "$("${RC[@]}" run --bundle "$T/reach" $reach </dev/null 2>&1)" "$rv_reach"
# The attempt is real: from the host, the control socket of a running
# container is reached by that same probe.
"${RV[@]}" run -d --bundle "$T/loop" $reach </dev/null >/dev/null 2>&1
check "reach: natively, the control socket is reachable (the attempt is real)" yes \
	"$("$T/rootfs/bin/reach" "$T/state-rvisor/$reach/ctl.sock" | grep -c 'control socket by its host path: reached' | sed 's/^1$/yes/')"
"${RV[@]}" delete --force $reach >/dev/null 2>&1
check "nothing left" "" "$("${RV[@]}" list -q)"

# --- podman, with an image imported from the same rootfs -------------------
if command -v podman >/dev/null; then
	img=localhost/rvisor-oci-test:$$
	PM=(podman --runtime "$RVISOR" ${PLATFORM:+--runtime-flag "platform=$PLATFORM"})
	tar -C "$T/rootfs" -cf "$T/rootfs.tar" . && podman import -q "$T/rootfs.tar" "$img" >/dev/null
	check "podman run --rm echo hi" "hi 0" "$({ "${PM[@]}" run --rm "$img" echo hi 2>&1; echo $?; } | tr "\n" " " | sed "s/ $//")"
	check "podman run: exit status" 4 "$("${PM[@]}" run --rm "$img" sh -c 'exit 4' >/dev/null 2>&1; echo $?)"
	cid=$("${PM[@]}" run -d "$img" sh -c 'echo started; trap "echo term; exit 0" TERM; sleep 100 & wait')
	for _ in $(seq 50); do podman logs "$cid" 2>/dev/null | grep -q started && break; sleep 0.1; done
	check "podman run -d: running" running "$(podman inspect "$cid" --format '{{.State.Status}}')"
	check "podman logs" started "$(podman logs "$cid" 2>&1)"
	check "podman exec" "in-container 42" "$("${PM[@]}" exec "$cid" sh -c 'echo in-container $((6*7))' 2>&1)"
	check "podman exec: exit status" 6 "$("${PM[@]}" exec "$cid" sh -c 'exit 6' >/dev/null 2>&1; echo $?)"
	check "podman exec -i: stdin" hello "$(echo hello | "${PM[@]}" exec -i "$cid" cat 2>&1)"
	rm -f "$T/hostrw/out.txt"
	check "podman run -v HOST:/data" "from-host written" \
		"$("${PM[@]}" run --rm -v "$T/hostrw:/data" "$img" sh -c 'cat /data/in.txt; echo written >/data/out.txt' 2>&1) $(cat "$T/hostrw/out.txt" 2>&1)"
	check "podman run -v HOST:/data:ro" "Read-only" \
		"$("${PM[@]}" run --rm -v "$T/hostrw:/data:ro" "$img" sh -c 'touch /data/f 2>&1' | grep -o Read-only)"
	# Limits, the same as under runc (podman's cgroupfs manager gives the
	# cgroup path; runc's from Debian is the reference).
	oom='x=$(head -c 200000000 /dev/zero | tr \\0 a); echo survived ${#x}'
	forks='i=0; while [ $i -lt 20 ]; do sleep 2 & i=$((i+1)); echo $i; done'
	# (runc cannot raise podman's default RLIMIT_NOFILE and NPROC above
	# the hard limits of a host with low ones: given explicitly.)
	U=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
	for rt in runc "$RVISOR"; do
		P=(podman --runtime "$rt")
		[ "$rt" = runc ] || P=("${PM[@]}")
		echo "podman run --memory 64m, 200 MB touched: $("${P[@]}" run --rm "${U[@]}" --memory 64m --memory-swap 64m "$img" sh -c "$oom" 2>/dev/null; echo "status $?")"
		echo "podman run --pids-limit 10: $("${P[@]}" run --rm "${U[@]}" --pids-limit 10 "$img" sh -c "$forks" 2>/dev/null | tail -1)"
	done >"$T/podman-limits.txt"
	check "podman run --memory 64m: killed as under runc" "status 137 status 137" \
		"$(grep -o 'status [0-9]*' "$T/podman-limits.txt" | tr '\n' ' ' | sed 's/ $//')"
	check "podman run --pids-limit 10: the same forks as under runc" "9 9" \
		"$(grep pids-limit "$T/podman-limits.txt" | sed 's/.*: //' | tr '\n' ' ' | sed 's/ $//')"
	check "podman run --cpus 0.5 --memory 64m: seen inside" "MemTotal: 65536 kB 1" \
		"$("${PM[@]}" run --rm --cpus 0.5 --memory 64m "$img" sh -c 'grep MemTotal /proc/meminfo; nproc' 2>&1 | tr -s ' \n' '  ' | sed 's/ $//')"
	rm -f "$T/cid"
	"${PM[@]}" run --rm --cidfile "$T/cid" --memory 64m "$img" true
	check "podman run --rm: no cgroup of the container left" 0 "$(cgdirs "libpod-$(cat "$T/cid")")"
	# podman binds its own /etc/hosts, /etc/hostname, /etc/resolv.conf and
	# /run/.containerenv (single files); the same as under runc (given
	# rlimits it may set here: podman's default NOFILE is above the limit
	# of a nested host).
	files='cat /etc/hostname; grep -c localhost /etc/hosts; [ -f /etc/resolv.conf ] && echo resolv; [ -e /run/.containerenv ] && echo containerenv; grep -c " /etc/hosts " /proc/mounts'
	check "podman run: its single-file binds (/etc/hosts, ...), as under runc" \
		"$(podman --runtime runc run --rm --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --hostname pmhost "$img" sh -c "$files" 2>&1 | tr '\n' ' ')" \
		"$("${PM[@]}" run --rm --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --hostname pmhost "$img" sh -c "$files" 2>&1 | tr '\n' ' ')"
	echo from-host-file >"$T/hostfile"
	check "podman run -v HOSTFILE:/path and :ro" "from-host-file Read-only 2" \
		"$("${PM[@]}" run --rm -v "$T/hostfile:/etc/motd" -v "$T/hostfile:/ro.txt:ro" "$img" sh -c 'cat /etc/motd; echo more >>/etc/motd; echo x 2>&1 >/ro.txt | grep -o Read-only' 2>&1 | tr '\n' ' ')$(wc -l <"$T/hostfile")"
	# A pod: its infra container (podman's pause image) and two
	# containers in it share the sandbox's IPC and loopback network; a
	# container outside the pod sees none of it.
	pod=rvisor-oci-test-$$
	"${PM[@]}" pod create --name "$pod" >/dev/null
	"${PM[@]}" run -d --pod "$pod" "$img" sh -c 'podipc put; echo from-server | nc -l -p 8080' >/dev/null
	for _ in $(seq 50); do "${PM[@]}" run --rm --pod "$pod" "$img" podipc get 2>/dev/null | grep -q 'shm: shm' && break; sleep 0.1; done
	check "podman pod: a second container shares IPC and localhost with the first" \
		"shm: shm-from-infra mq: mq-from-infra from-server" \
		"$("${PM[@]}" run --rm --pod "$pod" "$img" sh -c 'podipc get; nc 127.0.0.1 8080 </dev/null' 2>&1 | tr '\n' ' ' | sed 's/ $//')"
	check "podman pod: a container outside sees none of it" "shm: absent (ENOENT)" \
		"$("${PM[@]}" run --rm "$img" podipc get 2>&1 | head -1)"
	check "podman pod rm -f" "0 0" "$(podman pod rm -f "$pod" >/dev/null 2>&1; echo $?) $(podman ps -a --pod --filter pod="$pod" -q | wc -l)"
	"${PM[@]}" stop -t 10 "$cid" >/dev/null
	check "podman stop: the TERM handler ran" "started term" "$(podman logs "$cid" 2>&1 | tr '\n' ' ' | sed 's/ $//')"
	check "podman stop: exit status" "0 exited" "$(podman inspect "$cid" --format '{{.State.ExitCode}} {{.State.Status}}')"
	check "podman rm" 0 "$("${PM[@]}" rm "$cid" >/dev/null; echo $?)"
	podman rmi -f "$img" >/dev/null 2>&1
else
	echo "skip podman: not installed"
fi

checks_done
