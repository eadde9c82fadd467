# ss and /proc/net list a program's own sockets as Linux does: listeners,
# established pairs (both ends), UDP sockets, IPv6, process names. Ports
# and pids are replaced by names; only this program's ports are shown.
import re
import socket
import subprocess

l4 = socket.socket()
l4.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l4.bind(("127.0.0.1", 0))
l4.listen(7)
l6 = socket.socket(socket.AF_INET6)
l6.bind(("::1", 0))
l6.listen(3)
c = socket.create_connection(l4.getsockname())
s, _ = l4.accept()
c.sendall(b"12345")
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", 0))
names = {
    l4.getsockname()[1]: "L4",
    l6.getsockname()[1]: "L6",
    c.getsockname()[1]: "C",
    u.getsockname()[1]: "U",
}


def show(*args):
    flt = " or ".join(f"sport = :{p} or dport = :{p}" for p in names)
    out = subprocess.run(["ss", "-H", *args, flt], capture_output=True, text=True).stdout
    for line in sorted(out.splitlines()):
        for p, n in names.items():
            line = re.sub(rf":{p}\b", ":" + n, line)
        line = re.sub(r"pid=\d+", "pid=N", line)
        # Without NETLINK_SOCK_DIAG ss reads /proc/net/tcp6, where it
        # prints an IPv6 wildcard peer as "*" instead of "[::]".
        line = line.replace("[::]:*", "*:*")
        print(" ".join(line.split()))


show("-tlnp")
show("-tn")
show("-uan")
show("-tan", "-6")
