"""Runs a command as a child subreaper and reports what it left behind:
every process of the command's (a sandbox's gofer, stub factory, stubs,
the sandbox process itself, zombie or not) that outlived it becomes this
process's child instead of init's, so none can escape the count.
Prints "status S left N" (N: processes left, with their names on stderr),
then kills and reaps them so nothing lingers.
Usage: orphans.py CMD [ARGS...]  (stdin is /dev/null, output discarded)"""
import ctypes, os, signal, subprocess, sys, time

PR_SET_CHILD_SUBREAPER = 36
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
    sys.exit("orphans.py: prctl(PR_SET_CHILD_SUBREAPER) failed")
st = subprocess.call(sys.argv[1:], stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
me = str(os.getpid())


def children():
    kids = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            stat = open(f"/proc/{p}/stat").read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if fields[1] == me:
            kids.append((int(p), stat[stat.find("(") + 1:stat.rfind(")")], fields[0]))
    return kids


left = children()
for pid, comm, state in left:
    print(f"left: pid {pid} {comm} state {state}", file=sys.stderr)
print(f"status {st} left {len(left)}")
deadline = time.time() + 10
while time.time() < deadline:
    kids = children()
    if not kids:
        break
    for pid, _, _ in kids:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, os.WNOHANG)
        except OSError:
            pass
    time.sleep(0.01)
