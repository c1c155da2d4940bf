# ccx-attack: Python fcntl.ioctl TIOCSTI into fds 0-2, /dev/tty and a pty of the job's own
# ccx-category: terminal
# ccx-status: ok
# ccx-event: syscall_refused ^syscall=ioctl fd=0 request=TIOCSTI raw_request=0x5412 errno
# ccx-event: syscall_refused ^syscall=ioctl fd=1 request=TIOCSTI raw_request=0x5412 errno
# ccx-event: syscall_refused ^syscall=ioctl fd=2 request=TIOCSTI raw_request=0x5412 errno
# ccx-steps: 5
# ccx-limits: wall_ms=30000
import fcntl
import os
import termios

LINE = b"touch /tmp/ccx-escape-tiocsti-py\n"


def push(what, fd):
    try:
        for byte in LINE:
            fcntl.ioctl(fd, termios.TIOCSTI, bytes([byte]))
        print(f"ESCAPED: TIOCSTI on {what} (fd {fd}) pushed a command")
    except OSError as e:
        print(f"BLOCKED: TIOCSTI on {what} (fd {fd}): {e.strerror}")


for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
    push(name, fd)

try:
    tty = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    push("/dev/tty", tty)
    os.close(tty)
except OSError as e:
    print(f"BLOCKED: open /dev/tty: {e.strerror} (no controlling terminal in the sandbox)")

# A pty pair of its own would be a terminal the job may rightly push into; there is no
# /dev/ptmx or devpts to make one.
try:
    master, slave = os.openpty()
    push("a new pty", slave)
except OSError as e:
    print(f"BLOCKED: openpty: {e.strerror} (no /dev/ptmx in the sandbox)")
