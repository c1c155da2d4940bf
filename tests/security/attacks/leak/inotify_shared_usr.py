# ccx-attack: watch the shared /usr with inotify to see which runtimes other tenants start
# ccx-category: leak
# ccx-status: ok
# ccx-event: syscall_refused ^syscall=inotify_add_watch
# ccx-steps: 3
# /usr is the host's, bound read-only into every job: an inotify watch there would report
# every other job's (and the host's) opens of node, cc1 or libc, with their timing.
import ctypes
import os

libc = ctypes.CDLL(None, use_errno=True)
IN_OPEN = 0x20
IN_ACCESS = 0x01

fd = libc.inotify_init1(os.O_CLOEXEC | os.O_NONBLOCK)
if fd < 0:
    print("BLOCKED: inotify_init1:", os.strerror(ctypes.get_errno()))
for folder in (b"/usr/bin", b"/usr/lib/x86_64-linux-gnu", b"/usr/lib/gcc"):
    if fd < 0:
        break
    if libc.inotify_add_watch(fd, folder, IN_OPEN | IN_ACCESS) >= 0:
        print("ESCAPED: watching", folder.decode(), "for other jobs' opens")
    else:
        print("BLOCKED: watch", folder.decode() + ":", os.strerror(ctypes.get_errno()))
