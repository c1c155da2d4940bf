# ccx-attack: connect to the host's abstract unix socket by name, which AF_UNIX lets one try
# ccx-category: network
# ccx-status: ok
# ccx-limits: wall_ms=30000
# ccx-no-event: syscall_refused
# ccx-steps: 2
# ccx-args: {abstract_name}
import errno
import socket
import sys

name = sys.argv[1]
# Abstract names live in the network namespace: the host's must be out of reach, with no
# seccomp refusal needed (AF_UNIX is allowed), so the answer is ECONNREFUSED.
for kind, label in ((socket.SOCK_STREAM, "stream"), (socket.SOCK_DGRAM, "datagram")):
    s = socket.socket(socket.AF_UNIX, kind)
    try:
        if kind == socket.SOCK_STREAM:
            s.connect("\0" + name)
        else:
            s.sendto(b"hello host", "\0" + name)
        print(f"ESCAPED: {label} reached the abstract socket @{name}")
    except OSError as e:
        verdict = "BLOCKED" if e.errno == errno.ECONNREFUSED else "UNEXPECTED"
        print(f"{verdict}: {label} to @{name}: {e}")
    finally:
        s.close()
