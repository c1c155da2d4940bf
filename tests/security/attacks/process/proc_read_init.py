# ccx-attack: read environ, cmdline, mem, auxv and stack of pid 1 and every other visible pid
# ccx-category: process
# ccx-status: ok
# ccx-limits: wall_ms=30000
# ccx-steps: 6
import os

me = os.getpid()
others = sorted(int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != me)
print(f"visible pids besides mine: {others}")  # only the job's init should be there
for pid in others:
    for name in ("environ", "cmdline", "mem", "auxv", "stack", f"task/{pid}/environ"):
        path = f"/proc/{pid}/{name}"
        try:
            with open(path, "rb") as f:
                data = f.read(65536)
        except OSError as e:
            print(f"BLOCKED: {path}: {e.strerror}")
            continue
        if data.strip(b"\0 \n"):
            print(f"ESCAPED: {path}: {data[:200]!r}")
        else:
            print(f"BLOCKED: {path}: readable but blank ({len(data)} bytes)")
