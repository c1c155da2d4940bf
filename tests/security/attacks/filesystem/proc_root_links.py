# ccx-attack: reach the host's tree through /proc/<pid>/root and /proc/<pid>/cwd of every process
# ccx-category: filesystem
# ccx-status: ok
# ccx-steps: 4
import os

# Files every host has and the sandbox's root does not.
HOST_MARKERS = ("etc/shadow", "etc/hostname", "var", "home", "root", "boot")
root = os.stat("/")


def check(step, link):
    """BLOCKED unless link leads to a tree that is not the sandbox's root."""
    try:
        st = os.stat(link)
        found = [m for m in HOST_MARKERS if os.path.lexists(os.path.join(link, m))]
    except OSError as e:
        print(f"BLOCKED: {step}: {e.strerror}")
        return
    if found:
        print(f"ESCAPED: {step}: shows {found}")
    elif link.endswith("root") and (st.st_dev, st.st_ino) != (root.st_dev, root.st_ino):
        print(f"ESCAPED: {step}: a root other than the sandbox's")
    else:
        print(f"BLOCKED: {step}: only the sandbox's own tree")


check("/proc/self/root/../..", "/proc/self/root/../..")
# ccx-init is pid 1; it is not dumpable, so its links must stay closed to us.
check("/proc/1/root", "/proc/1/root")
check("/proc/1/cwd", "/proc/1/cwd")
# Every other process we can see, nested through our own root link as well.
leaks = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    for link in (f"/proc/{pid}/root", f"/proc/self/root/proc/{pid}/cwd/../.."):
        try:
            if any(os.path.lexists(os.path.join(link, m)) for m in HOST_MARKERS):
                leaks.append(link)
        except OSError:
            pass
if leaks:
    print(f"ESCAPED: host tree seen through {leaks}")
else:
    print("BLOCKED: root and cwd of every visible pid: none shows the host's tree")
