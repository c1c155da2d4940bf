# ccx-attack: reach the kernel keyrings (keyctl, add_key, request_key) to read or plant keys
# ccx-category: privilege
# ccx-status: ok
# ccx-event: syscall_refused ^syscall=keyctl cmd=1 errno
# ccx-event: syscall_refused ^syscall=keyctl cmd=0 errno
# ccx-event: syscall_refused ^syscall=add_key
# ccx-event: syscall_refused ^syscall=request_key
# ccx-steps: 5
# ccx-limits: wall_ms=30000
# Keyrings are not namespaced like files: a user's keyring is shared by every process of the
# host uid, and the session keyring the worker started in must stay out of reach.
import ctypes
import os

SYS_ADD_KEY, SYS_REQUEST_KEY, SYS_KEYCTL = 248, 249, 250
KEYCTL_GET_KEYRING_ID, KEYCTL_JOIN_SESSION_KEYRING, KEYCTL_DESCRIBE = 0, 1, 6
KEY_SPEC_SESSION_KEYRING, KEY_SPEC_USER_KEYRING = -3, -4

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def attempt(step, *args):
    r = libc.syscall(*args)
    if r >= 0:
        print(f"ESCAPED: {step} returned {r}")
    else:
        print(f"BLOCKED: {step}: {os.strerror(ctypes.get_errno())}")


attempt("keyctl(GET_KEYRING_ID, session)", SYS_KEYCTL, KEYCTL_GET_KEYRING_ID,
        KEY_SPEC_SESSION_KEYRING, 0)
attempt("keyctl(JOIN_SESSION_KEYRING, NULL)", SYS_KEYCTL, KEYCTL_JOIN_SESSION_KEYRING, None)
buf = ctypes.create_string_buffer(256)
attempt("keyctl(DESCRIBE, user keyring)", SYS_KEYCTL, KEYCTL_DESCRIBE, KEY_SPEC_USER_KEYRING,
        buf, ctypes.sizeof(buf))
payload = b"ccx-planted"
attempt("add_key(user, ccx:planted) to the user keyring", SYS_ADD_KEY, b"user",
        b"ccx:planted", payload, len(payload), KEY_SPEC_USER_KEYRING)
attempt("request_key(user, ccx:planted)", SYS_REQUEST_KEY, b"user", b"ccx:planted", None,
        KEY_SPEC_SESSION_KEYRING)
