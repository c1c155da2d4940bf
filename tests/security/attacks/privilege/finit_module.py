# ccx-attack: load a kernel module from a file descriptor with finit_module(2), via ctypes
# ccx-category: privilege
# ccx-status: policy_violation
# ccx-event: policy_violation ^syscall=finit_module
# ccx-limits: wall_ms=30000
import ctypes
import os

SYS_FINIT_MODULE = 313
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long

# A fake module in the workspace: the call must end the job before the kernel reads it.
with open("evil.ko", "wb") as f:
    f.write(b"\x7fELF" + bytes(4092))
fd = os.open("evil.ko", os.O_RDONLY)
r = libc.syscall(SYS_FINIT_MODULE, fd, b"", 0)
print(f"ESCAPED: finit_module returned {r} and the job went on", flush=True)
