# Tries to get out of the sandbox and prints how each attempt ended. In ccx every attempt
# must fail: /etc/shadow is not in the sandbox and the job has no network.
import socket


def attempt(label, action):
    try:
        print(f"{label}: SUCCEEDED {action()}", flush=True)
    except Exception as e:  # report whatever stopped it
        print(f"{label}: {type(e).__name__} {e}", flush=True)


def read_shadow():
    with open("/etc/shadow", "rb") as f:
        return f"read {len(f.read())} bytes"


def connect(host, port):
    with socket.create_connection((host, port), timeout=2):
        return "connected"


def network_interfaces():
    """Interfaces other than lo, from this process's network namespace."""
    with open("/proc/net/dev") as f:
        names = [line.split(":")[0].strip() for line in f if ":" in line]
    return [n for n in names if n != "lo"]


attempt("read /etc/shadow", read_shadow)
attempt("tcp 127.0.0.1:6379", lambda: connect("127.0.0.1", 6379))

# Only try an outside address where nothing can leave: someone running this file by hand on
# a host must not send packets to the internet.
try:
    outside = network_interfaces()
except OSError as e:
    outside = [f"unknown ({type(e).__name__})"]
if outside:
    print(f"tcp 1.1.1.1:53: skipped, not sandboxed (interfaces: {', '.join(outside)})")
else:
    attempt("tcp 1.1.1.1:53", lambda: connect("1.1.1.1", 53))
