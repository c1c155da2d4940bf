# ccx-attack: nest a user namespace inside the job's own, and remap the job's uid to root
# ccx-category: privilege
# ccx-status: ok
# ccx-event: syscall_refused ^syscall=unshare flags=CLONE_NEWUSER raw_flags=0x10000000
# ccx-event: syscall_refused ^syscall=clone flags=CLONE_NEWUSER
# ccx-steps: 5
# ccx-limits: wall_ms=30000
import ctypes
import os
import signal

CLONE_NEWUSER = 0x10000000
SYS_CLONE = 56
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def errno_text():
    return os.strerror(ctypes.get_errno())


with open("/proc/self/uid_map") as f:
    inner = [int(line.split()[0]) for line in f]
print(f"the job's user namespace maps uid {inner}; root is {'' if 0 in inner else 'not '}mapped")

if libc.unshare(CLONE_NEWUSER) == 0:
    print("ESCAPED: unshare(CLONE_NEWUSER): a nested user namespace")
else:
    print(f"BLOCKED: unshare(CLONE_NEWUSER): {errno_text()}")

pid = libc.syscall(SYS_CLONE, CLONE_NEWUSER | signal.SIGCHLD, 0, 0, 0, 0)
if pid == 0:
    os._exit(0)
if pid > 0:
    os.waitpid(pid, 0)
    print(f"ESCAPED: clone(CLONE_NEWUSER): child {pid} in a nested user namespace")
else:
    print(f"BLOCKED: clone(CLONE_NEWUSER): {errno_text()}")

# The worker wrote these maps once; a second write (here: making the job root) must fail.
for name, line in (("uid_map", "0 1000 1"), ("gid_map", "0 1000 1"), ("setgroups", "allow")):
    try:
        with open(f"/proc/self/{name}", "w") as f:
            f.write(line + "\n")
        print(f"ESCAPED: wrote {line!r} to /proc/self/{name}")
    except OSError as e:
        print(f"BLOCKED: write {line!r} to /proc/self/{name}: {e.strerror}")
