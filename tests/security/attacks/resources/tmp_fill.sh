# ccx-attack: fill /tmp, a 64 MiB tmpfs, under a 32 MiB memory limit, to pin host memory
# ccx-category: resources
# ccx-status: memory_limit
# ccx-event: memory_limit ^memory_mb=32 oom_kills=[1-9]
# ccx-limits: memory_mb=32 wall_ms=20000
# Why memory_limit and not ENOSPC: tmpfs pages are charged to the memory cgroup of the job
# that writes them (docs/PROTOCOL.md: memory_mb counts "+ tmpfs pages written"), so with
# memory_mb below the 64 MiB cap (sandbox.tmp_mb) the kernel OOM-kills the job first.
# Files of 16 MiB, so that RLIMIT_FSIZE (disk_mb) never cuts one short.
stopped=
for i in 1 2 3 4 5 6 7 8; do
    why=$(head -c 16M /dev/zero 2>&1 > "/tmp/fill-$i") || { stopped=${why:-killed}; break; }
done
size=$(du -sm /tmp | cut -f1)
if [ -z "$stopped" ]; then
    echo "ESCAPED: /tmp took $size MiB past the memory limit"
else
    echo "BLOCKED: /tmp after $size MiB: $stopped (the writer lived: no memory_limit)"
fi
exit 1
