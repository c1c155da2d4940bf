from pathlib import Path
print(Path("/sys/fs/cgroup/memory/memory.limit_in_bytes").read_text())
