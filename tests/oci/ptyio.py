"""Shared by the console-socket clients: receiving the pty master and
reading the terminal."""
import array, select, socket, time


def receive_master(srv):
    """Accepts on the listening console socket; returns (master, count of
    descriptors received)."""
    conn, _ = srv.accept()
    msg, anc, flags, addr = conn.recvmsg(64, socket.CMSG_SPACE(4))
    fds = array.array("i")
    fds.frombytes(anc[0][2][:4])
    return fds[0], len(fds)


def read_until(master, marker, secs=5):
    """What the terminal shows until `marker` appears after the last
    echoed command (or `secs` pass), as text."""
    out = b""
    deadline = time.time() + secs
    while time.time() < deadline and marker not in out.split(b"echo")[-1]:
        r, _, _ = select.select([master], [], [], 0.5)
        if r:
            out += __import__("os").read(master, 4096)
    return out.decode(errors="replace")
