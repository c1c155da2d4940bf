# ccx-attack: setsid and double fork a daemon that ignores SIGHUP and SIGTERM to outlive the job
# ccx-category: process
# ccx-status: ok
# ccx-limits: wall_ms=30000
# ccx-steps: 1
import os
import signal
import time

read_end, write_end = os.pipe()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)
        os.write(write_end, str(os.getpid()).encode())
        os.closerange(0, 1024)  # no pipe of the job held open: nothing ties it to the job
        os.chdir("/")
        while True:
            time.sleep(1)
    os._exit(0)
os.close(write_end)
os.wait()
daemon = int(os.read(read_end, 32))
time.sleep(0.2)
with open(f"/proc/{daemon}/stat") as f:
    fields = f.read().rsplit(")", 1)[1].split()
ppid, sid = int(fields[1]), int(fields[3])
# The suite checks on the host that no process of the job's uid lives on after the result.
if ppid == 1 and sid != os.getsid(0):
    print(f"BLOCKED: daemon {daemon} (session {sid}) was adopted by the job's init, pid 1: "
          "it stays in the job's pid namespace and dies with it")
else:
    print(f"ESCAPED: daemon {daemon} is not a detached child of the job's init "
          f"(ppid {ppid}, sid {sid})")
