# ccx-attack: send SIGKILL to every pid from 1 to 32768 to hit host processes by number
# ccx-category: process
# ccx-status: ok
# ccx-limits: wall_ms=30000
# ccx-steps: 2
import os
import signal

me = os.getpid()
ours = {int(p) for p in os.listdir("/proc") if p.isdigit()}
reached = []
for pid in range(1, 32769):
    if pid == me:
        continue
    try:
        os.kill(pid, signal.SIGKILL)
        reached.append(pid)
    except OSError:
        pass
foreign = [p for p in reached if p not in ours]
if foreign:
    print(f"ESCAPED: signalled pids outside the job: {foreign[:20]}")
else:
    print(f"BLOCKED: sweep of 1..32768: only the job's own pids {reached} took the signal")
try:
    os.kill(1, 0)
    print("BLOCKED: SIGKILL to the job's init: dropped, pid 1 still runs")
except OSError as e:
    print(f"ESCAPED: the job's init died: {e}")
