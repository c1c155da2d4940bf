# ccx-attack: create an eBPF map with bpf(BPF_MAP_CREATE) through ctypes
# ccx-category: privilege
# ccx-status: policy_violation
# ccx-event: policy_violation ^syscall=bpf cmd=0$
# ccx-limits: wall_ms=30000
import ctypes
import struct

SYS_BPF, BPF_MAP_CREATE, BPF_MAP_TYPE_ARRAY = 321, 0, 2
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long

# map_type, key_size, value_size, max_entries, then zeros up to the attr size.
attr = ctypes.create_string_buffer(struct.pack("=IIII", BPF_MAP_TYPE_ARRAY, 4, 8, 16), 128)
fd = libc.syscall(SYS_BPF, BPF_MAP_CREATE, attr, ctypes.sizeof(attr))
print(f"ESCAPED: bpf(BPF_MAP_CREATE) returned {fd} and the job went on", flush=True)
