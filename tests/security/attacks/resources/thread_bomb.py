# ccx-attack: start threads without end, each parked forever, to exhaust the host's tasks
# ccx-category: resources
# ccx-status: pids_limit
# ccx-event: pids_limit ^pids=16 refused_forks=[1-9]
# ccx-limits: pids=16 wall_ms=20000
import os
import threading

park = threading.Event()
started = 0
try:
    while started < 10000:
        threading.Thread(target=park.wait, daemon=True).start()
        started += 1
    print(f"ESCAPED: thread bomb: {started} threads alive at once")
except RuntimeError as e:
    print(f"BLOCKED: thread bomb: thread {started + 1} refused: {e}", flush=True)
os._exit(1)
