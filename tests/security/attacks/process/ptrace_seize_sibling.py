# ccx-attack: PTRACE_SEIZE a sibling process of the job through ctypes to read its memory
# ccx-category: process
# ccx-status: policy_violation
# ccx-limits: wall_ms=30000
# ccx-event: policy_violation ^syscall=ptrace request=16902 pid=[1-9]
import ctypes
import os
import time

PTRACE_SEIZE = 0x4206
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]

sibling = os.fork()
if sibling == 0:
    time.sleep(30)  # the victim: any process of the job that is not the tracer
    os._exit(0)
tracer = os.fork()
if tracer == 0:
    r = libc.ptrace(PTRACE_SEIZE, sibling, None, None)
    print(f"ESCAPED: PTRACE_SEIZE of sibling {sibling} returned {r}", flush=True)
    os._exit(0)
os.waitpid(tracer, 0)
print("ESCAPED: the job went on after a ptrace call", flush=True)
os.kill(sibling, 9)
