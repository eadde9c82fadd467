"""Drives programs through a pseudo-terminal and prints facts about what
they did, identical natively and in the sandbox.

    drive.py jobs            bash -i job control: sleep, ^Z, bg, fg, ^C
    drive.py script          script -qc 'tty; stty size' on a sized terminal
    drive.py ptyfork         pty.fork(): the child's terminal, echo, EOF, EIO
    drive.py host_tty RVISOR [ARGS]  (host side) `RVISOR ARGS -- tty` on a
                             terminal: its stdin is a sandbox /dev/pts/N

Every wait reads until a pattern, with a deadline (no fixed sleeps).
"""
import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time

DEADLINE = 10.0


class Term:
    def __init__(self, argv, env=None, rows=0, cols=0):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                if rows:
                    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
                os.execve(argv[0], argv, env if env is not None else os.environ)
            finally:
                os._exit(127)
        self.buf = b""

    def read_some(self, timeout):
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return False
        try:
            d = os.read(self.fd, 4096)
        except OSError:  # EIO: every slave closed
            d = b""
        if not d:
            raise EOFError
        self.buf += d
        return True

    def expect(self, pattern):
        """Reads until `pattern` (a regex on bytes) matches; consumes
        through the match. Returns the match or None on timeout/EOF."""
        end = time.monotonic() + DEADLINE
        rx = re.compile(pattern)
        while True:
            m = rx.search(self.buf)
            if m:
                self.buf = self.buf[m.end():]
                return m
            left = end - time.monotonic()
            if left <= 0:
                return None
            try:
                self.read_some(left)
            except EOFError:
                return None

    def send(self, data):
        os.write(self.fd, data)

    def wait_foreground(self, pred):
        """Waits until the terminal's foreground process group satisfies
        `pred` (TIOCGPGRP on the master)."""
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            if pred(os.tcgetpgrp(self.fd)):
                return True
            try:
                self.read_some(0.01)
            except EOFError:
                return False
        return False

    def finish(self):
        """Reads to EOF; returns the wait status."""
        end = time.monotonic() + DEADLINE
        try:
            while time.monotonic() < end:
                self.read_some(end - time.monotonic())
        except EOFError:
            pass
        _, st = os.waitpid(self.pid, 0)
        return st


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return None


def fact(name, value):
    print(f"{name}: {value}", flush=True)


def jobs():
    env = {"PATH": "/usr/bin:/bin", "PS1": "PROMPT> ", "TERM": "dumb", "HOME": "/"}
    t = Term(["/bin/bash", "--norc", "--noprofile", "-i"], env)
    fact("prompt", t.expect(rb"PROMPT> ") is not None)
    shell = t.pid
    t.send(b"sleep 100\r")
    # Its group leads the foreground once bash's child became sleep (before
    # the exec, the child still ignores ^Z as the shell does).
    fact("sleep in the foreground", t.wait_foreground(lambda p: comm(p) == "sleep"))
    t.send(b"\x1a")
    fact("^Z stops it", t.expect(rb"Stopped\s+sleep 100") is not None)
    fact("shell in the foreground again", t.wait_foreground(lambda p: p == shell))
    fact("prompt", t.expect(rb"PROMPT> ") is not None)
    t.send(b"bg\r")
    fact("bg", t.expect(rb"\[1\]\+ sleep 100 &") is not None)
    t.send(b"jobs\r")
    fact("jobs says running", t.expect(rb"Running\s+sleep 100 &") is not None)
    fact("prompt", t.expect(rb"PROMPT> ") is not None)
    t.send(b"fg\r")
    fact("fg", t.expect(rb"sleep 100\r\n") is not None)
    fact("sleep in the foreground", t.wait_foreground(lambda p: comm(p) == "sleep"))
    t.send(b"\x03")
    fact("shell in the foreground again", t.wait_foreground(lambda p: p == shell))
    t.send(b"echo status=$?\r")
    fact("^C ended it", t.expect(rb"\nstatus=130") is not None)
    t.send(b"exit\r")
    st = t.finish()
    fact("exit status", os.waitstatus_to_exitcode(st))


def script():
    env = {"PATH": "/usr/bin:/bin", "TERM": "dumb"}
    t = Term(["/usr/bin/script", "-qc", "tty; stty size", "/dev/null"], env, 33, 77)
    m = t.expect(rb"(/dev/pts/\d+)\r\n")
    fact("tty names a pts", m is not None)
    fact("stty size", t.expect(rb"33 77") is not None)
    fact("exit status", os.waitstatus_to_exitcode(t.finish()))


def ptyfork():
    pid, fd = pty.fork()
    if pid == 0:
        # stdout was a pipe when Python started: it buffers by blocks.
        def say(*a):
            print(*a, flush=True)

        try:
            name = os.ttyname(0)
            say("child tty is a pts:", re.fullmatch(r"/dev/pts/\d+", name) is not None)
            say("same on 0 1 2:", os.ttyname(1) == name == os.ttyname(2))
            say("session leader:", os.getsid(0) == os.getpid())
            say("foreground:", os.tcgetpgrp(0) == os.getpgrp())
            line = sys.stdin.readline()
            say("got", repr(line))
            say("eof:", repr(sys.stdin.read()))
        finally:
            os._exit(0)
    t = Term.__new__(Term)
    t.pid, t.fd, t.buf = pid, fd, b""
    for line in [b"child tty is a pts", b"same on 0 1 2", b"session leader", b"foreground"]:
        fact(line.decode(), t.expect(line + rb": True\r\n") is not None)
    t.send(b"hello\r")
    fact("echo", t.expect(rb"hello\r\n") is not None)
    fact("line", t.expect(rb"got 'hello\\n'\r\n") is not None)
    t.send(b"\x04")
    fact("eof", t.expect(rb"eof: ''\r\n") is not None)
    st = t.finish()
    fact("exit status", os.waitstatus_to_exitcode(st))
    try:
        os.read(fd, 10)
        fact("read after exit", "data")
    except OSError as e:
        fact("read after exit", os.strerror(e.errno))


def host_tty(rvisor_argv):
    cmd = (
        "tty; stty size; read x; echo got=$x; "
        'while [ "$(stty size)" != "25 50" ]; do sleep 0.05; done; echo resized; exit 7'
    )
    t = Term(rvisor_argv + ["--", "/bin/sh", "-c", cmd], rows=21, cols=42)
    m = t.expect(rb"(\S+)\r\n")
    fact("tty", m.group(1).decode() if m else None)
    fact("stty size", t.expect(rb"21 42\r\n") is not None)
    t.send(b"typed\r")
    fact("echo and read", t.expect(rb"typed\r\ngot=typed\r\n") is not None)
    # The host terminal's SIGWINCH becomes the sandbox terminal's new size.
    fcntl.ioctl(t.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 25, 50, 0, 0))
    fact("resize seen", t.expect(rb"resized\r\n") is not None)
    st = t.finish()
    fact("exit status", os.waitstatus_to_exitcode(st))
    # The host terminal is back as it was (cooked, echoing).
    fact("host terminal echo restored", bool(termios.tcgetattr(t.fd)[3] & termios.ECHO))
    # Also when the command cannot even start.
    t = Term(rvisor_argv + ["--", "/nonexistent"])
    st = t.finish()
    fact("missing command status", os.waitstatus_to_exitcode(st))
    fact("host terminal echo restored", bool(termios.tcgetattr(t.fd)[3] & termios.ECHO))


def main():
    signal.signal(signal.SIGALRM, lambda *_: (print("timeout", flush=True), os._exit(3)))
    signal.alarm(25)
    mode = sys.argv[1]
    if mode == "jobs":
        jobs()
    elif mode == "script":
        script()
    elif mode == "ptyfork":
        ptyfork()
    elif mode == "host_tty":
        host_tty(sys.argv[2:])
    else:
        sys.exit(f"unknown mode {mode}")


main()
