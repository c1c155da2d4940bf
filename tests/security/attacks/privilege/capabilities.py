# ccx-attack: look for any capability left to the job, then raise one with capset and prctl
# ccx-category: privilege
# ccx-status: ok
# ccx-event: syscall_refused ^syscall=capset
# ccx-event: syscall_refused ^syscall=setuid args=0x0,
# ccx-steps: 5
# ccx-limits: wall_ms=30000
import ctypes
import errno
import os

CAP_SYS_ADMIN = 21
PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE = 47, 2
LINUX_CAPABILITY_VERSION_3 = 0x20080522

libc = ctypes.CDLL(None, use_errno=True)

with open("/proc/self/status") as f:
    caps = {k: int(v, 16) for k, v in (line.split(":") for line in f) if k.startswith("Cap")}
held = {k: hex(v) for k, v in caps.items() if v}
if held:
    print(f"ESCAPED: capability sets not empty: {held}")
else:
    print(f"BLOCKED: capability sets: {', '.join(sorted(caps))} are all zero")


class Header(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class Data(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


header = Header(LINUX_CAPABILITY_VERSION_3, 0)
data = (Data * 2)()
data[0].effective = data[0].permitted = 1 << CAP_SYS_ADMIN
if libc.capset(ctypes.byref(header), data) == 0:
    print("ESCAPED: capset raised CAP_SYS_ADMIN")
else:
    print(f"BLOCKED: capset(CAP_SYS_ADMIN): {os.strerror(ctypes.get_errno())}")

r = libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_SYS_ADMIN, 0, 0)
if r == 0:
    print("ESCAPED: PR_CAP_AMBIENT_RAISE of CAP_SYS_ADMIN")
else:
    print(f"BLOCKED: prctl(PR_CAP_AMBIENT_RAISE): {os.strerror(ctypes.get_errno())}")

for name, call in (("setuid(0)", lambda: os.setuid(0)), ("setresgid(0)",
                                                       lambda: os.setresgid(0, 0, 0))):
    try:
        call()
        print(f"ESCAPED: {name} succeeded: euid {os.geteuid()} egid {os.getegid()}")
    except OSError as e:
        print(f"BLOCKED: {name}: {errno.errorcode[e.errno]} {e.strerror}")
