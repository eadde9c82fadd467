"""`exec -t` through a console socket, as container engines drive it: runs
RUNTIME exec -t -d --console-socket SOCKET ID sh, receives the pty master
(SCM_RIGHTS), types into the terminal and prints facts, one per line.
Usage: exec_tty.py "RUNTIME [GLOBAL FLAGS]" ID SOCKET (the container runs)."""
import json, os, socket, subprocess, sys, time
import ptyio
rv, cid, path = sys.argv[1:4]
def count():
    out = subprocess.run(rv.split() + ["ps", "--format", "json", cid], capture_output=True, text=True).stdout
    return len(json.loads(out or "[]") or [])
before = count()
if os.path.exists(path): os.unlink(path)
srv = socket.socket(socket.AF_UNIX); srv.bind(path); srv.listen(1)
srv.settimeout(30)
p = subprocess.Popen(rv.split() + ["exec", "-t", "-d", "--console-socket", path, cid, "sh"])
master, n = ptyio.receive_master(srv)
print("one descriptor:", n == 1)
os.write(master, b"tty; [ -t 0 ] && echo stdin-tty; echo hi-$((1+2))\n")
text = ptyio.read_until(master, b"hi-3")
print("tty is /dev/pts:", "/dev/pts/" in text)
print("stdin is the tty:", "\nstdin-tty" in text)
print("echo ran:", "hi-3" in text)
print("exec -d status:", p.wait(timeout=10))
print("one more process:", count() == before + 1)
os.write(master, b"exit 5\n")
deadline = time.time() + 5
while time.time() < deadline and count() != before:
    time.sleep(0.05)
print("gone after exit:", count() == before)
os.close(master)
