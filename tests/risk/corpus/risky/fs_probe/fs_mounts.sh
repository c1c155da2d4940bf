grep -i overlay /proc/mounts
cat /sys/fs/cgroup/memory/memory.limit_in_bytes
