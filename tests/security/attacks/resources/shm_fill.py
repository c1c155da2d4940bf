# ccx-attack: fill /dev/shm, a 64 MiB tmpfs, under a 32 MiB memory limit, to pin host memory
# ccx-category: resources
# ccx-status: memory_limit
# ccx-event: memory_limit ^memory_mb=32 oom_kills=[1-9]
# ccx-limits: memory_mb=32 wall_ms=20000
# Why memory_limit and not ENOSPC: tmpfs pages are charged to the memory cgroup of the job
# that writes them (docs/PROTOCOL.md: memory_mb counts "+ tmpfs pages written"), so with
# memory_mb below the 64 MiB cap (sandbox.tmp_mb) the kernel OOM-kills the job first.
import os

chunk = b"\xa5" * (1 << 20)
written = 0
with open("/dev/shm/fill", "wb", buffering=0) as f:
    try:
        while written < 1024:
            f.write(chunk)
            written += 1
        print(f"ESCAPED: /dev/shm took {written} MiB past the memory limit")
    except OSError as e:
        # ENOSPC at the tmpfs cap would mean the writes were not charged to the job.
        print(f"BLOCKED: /dev/shm after {written} MiB: {e} (no memory_limit)", flush=True)
os._exit(1)
