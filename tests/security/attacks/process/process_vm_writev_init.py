# ccx-attack: overwrite the memory of pid 1, the job's init, with process_vm_writev via ctypes
# ccx-category: process
# ccx-status: policy_violation
# ccx-limits: wall_ms=30000
# ccx-event: policy_violation ^syscall=process_vm_writev pid=1$
import ctypes


class IOVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


libc = ctypes.CDLL(None, use_errno=True)
payload = ctypes.create_string_buffer(b"\xcc" * 64)  # int3: would crash init if it landed
local = IOVec(ctypes.cast(payload, ctypes.c_void_p), 64)
remote = IOVec(0x400000, 64)
n = libc.process_vm_writev(1, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
print(f"ESCAPED: process_vm_writev(1) returned {n} (errno {ctypes.get_errno()})")
