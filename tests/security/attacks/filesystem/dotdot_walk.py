# ccx-attack: walk up with ../ from the workspace, past the root, to reach the host's files
# ccx-category: filesystem
# ccx-status: ok
# ccx-steps: 4
import os

# Files every host has and the sandbox's root does not: seeing one means we are out.
HOST_MARKERS = ("etc/shadow", "etc/hostname", "var", "home", "root", "boot")
up = "../" * 64


def host_seen(prefix):
    return [m for m in HOST_MARKERS if os.path.lexists(os.path.join(prefix, m))]


# Step 1: a path that climbs far above the workspace.
found = host_seen(up)
if found:
    print(f"ESCAPED: ../ x64 from /work shows {found}")
else:
    print(f"BLOCKED: ../ x64 from /work: stops at the sandbox root {sorted(os.listdir(up))}")

# Step 2: chdir("..") again and again, then look around.
for _ in range(64):
    os.chdir("..")
root = os.stat("/")
here = os.stat(".")
if host_seen(".") or (here.st_dev, here.st_ino) != (root.st_dev, root.st_ino):
    print(f"ESCAPED: chdir('..') x64 reached {os.getcwd()} {host_seen('.')}")
else:
    print("BLOCKED: chdir('..') x64: the walk ends at the sandbox root")

# Step 3: read a host secret by a relative path from a deep workspace directory.
os.makedirs("/work/a/b/c/d", exist_ok=True)
os.chdir("/work/a/b/c/d")
try:
    with open(up + "etc/shadow") as f:
        print(f"ESCAPED: read {len(f.read())} bytes of /etc/shadow by ../")
except OSError as e:
    print(f"BLOCKED: ../etc/shadow from /work/a/b/c/d: {e.strerror}")

# Step 4: .. through the bind mounts: /usr/.., /work/.., /proc/.. must all be the root.
out = [p for p in ("/usr/..", "/work/..", "/proc/..", "/tmp/..", "/dev/shm/../..")
       if (os.stat(p).st_dev, os.stat(p).st_ino) != (root.st_dev, root.st_ino)]
if out:
    print(f"ESCAPED: {out} lead somewhere other than the sandbox root")
else:
    print("BLOCKED: .. out of every mount: each leads back to the sandbox root")
