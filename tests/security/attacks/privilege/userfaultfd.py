# ccx-attack: get a userfaultfd (syscall and /dev/userfaultfd), the tool of kernel race exploits
# ccx-category: privilege
# ccx-status: ok
# ccx-event: syscall_refused ^syscall=userfaultfd args=0x80800,
# ccx-event: syscall_refused ^syscall=userfaultfd args=0x1,
# ccx-steps: 3
# ccx-limits: wall_ms=30000
import ctypes
import os

SYS_USERFAULTFD = 323
O_CLOEXEC, O_NONBLOCK, UFFD_USER_MODE_ONLY = 0o2000000, 0o4000, 1
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long

for step, flags in (("userfaultfd(O_CLOEXEC|O_NONBLOCK)", O_CLOEXEC | O_NONBLOCK),
                    ("userfaultfd(UFFD_USER_MODE_ONLY)", UFFD_USER_MODE_ONLY)):
    fd = libc.syscall(SYS_USERFAULTFD, flags)
    if fd >= 0:
        print(f"ESCAPED: {step} returned {fd}")
    else:
        print(f"BLOCKED: {step}: {os.strerror(ctypes.get_errno())}")

try:
    os.close(os.open("/dev/userfaultfd", os.O_RDWR))
    print("ESCAPED: opened /dev/userfaultfd")
except OSError as e:
    print(f"BLOCKED: open /dev/userfaultfd: {e.strerror}")
