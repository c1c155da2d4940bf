# ccx-attack: evict the host's page cache of shared runtimes and flush the host's disks
# ccx-category: resources
# ccx-status: ok
# ccx-event: syscall_refused ^syscall=fadvise64 fd=\d+ advice=DONTNEED raw_advice=0x4
# ccx-event: syscall_refused ^syscall=sync
# ccx-event: syscall_refused ^syscall=syncfs
# ccx-steps: 4
# POSIX_FADV_DONTNEED on /usr/bin/node drops the host's cached copy that every other job
# shares; sync and syncfs make the host write out every dirty page of its filesystems.
import ctypes
import os

libc = ctypes.CDLL(None, use_errno=True)

for path in ("/usr/bin/node", "/usr/lib/x86_64-linux-gnu/libc.so.6"):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        print("ESCAPED: dropped the host's page cache of", path)
    except OSError as e:
        print("BLOCKED: POSIX_FADV_DONTNEED on", path + ":", e)
    os.close(fd)

libc.sync()
# sync has no result to look at: the refusal event is the proof, errno says it too.
errno = ctypes.get_errno()
print("BLOCKED: sync:", os.strerror(errno) if errno else "ESCAPED: sync ran")

fd = os.open("/usr", os.O_RDONLY)
if libc.syncfs(fd) == 0:
    print("ESCAPED: syncfs flushed the host's /usr filesystem")
else:
    print("BLOCKED: syncfs on /usr:", os.strerror(ctypes.get_errno()))
