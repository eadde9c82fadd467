"""A console-socket client as container engines are: creates a container
with --console-socket, receives the pty master (SCM_RIGHTS), starts it,
types into the terminal and prints facts, one per line.
Usage: console.py "RUNTIME [GLOBAL FLAGS]" BUNDLE ID SOCKET (the bundle's process is a
shell with terminal: true and consoleSize 30x100)."""
import os, socket, subprocess, sys, time
import ptyio
rv, bundle, cid, path = sys.argv[1:5]
if os.path.exists(path): os.unlink(path)
srv = socket.socket(socket.AF_UNIX); srv.bind(path); srv.listen(1)
srv.settimeout(60)
p = subprocess.Popen(rv.split() + ["create", "--bundle", bundle, "--console-socket", path, cid])
master, n = ptyio.receive_master(srv)
print("one descriptor:", n == 1)
print("create:", p.wait())
print("start:", subprocess.call(rv.split() + ["start", cid]))
os.write(master, b"tty; stty size; echo hi-$((1+2))\n")
text = ptyio.read_until(master, b"hi-3")
print("tty is /dev/pts:", "/dev/pts/" in text)
print("size 30 100:", "30 100" in text)
print("echo ran:", "hi-3" in text)
os.write(master, b"exit 5\n")
import json
status, deadline = None, time.time() + 10
while time.time() < deadline and status != "stopped":
    st = subprocess.run(rv.split() + ["state", cid], capture_output=True, text=True)
    status = json.loads(st.stdout)["status"] if st.returncode == 0 else None
    time.sleep(0.05)
print("after exit:", status)
print("delete:", subprocess.call(rv.split() + ["delete", cid]))
