# ccx-attack: mknod the host disk's block device and /dev/mem, then read the disk through them
# ccx-category: filesystem
# ccx-status: ok
# ccx-steps: 4
import os
import stat

# The host's disk is the device behind /usr (the CI machine: 254:0, /dev/vda).
usr_dev = os.stat("/usr").st_dev
disk = os.makedev(os.major(usr_dev), os.minor(usr_dev))
nodes = [
    ("block device of the host disk in /work", "/work/disk", stat.S_IFBLK, disk),
    ("block device of the host disk in /tmp", "/tmp/disk", stat.S_IFBLK, disk),
    ("char device /dev/mem (1:1) in /dev/shm", "/dev/shm/mem", stat.S_IFCHR, os.makedev(1, 1)),
]
for step, path, kind, dev in nodes:
    try:
        os.mknod(path, kind | 0o666, dev)
    except OSError as e:
        print(f"BLOCKED: mknod {step}: {e.strerror}")
        continue
    # A node exists: the mount's nodev must still keep it from opening.
    try:
        with open(path, "rb") as f:
            print(f"ESCAPED: mknod {step}: read {len(f.read(4096))} bytes")
    except OSError as e:
        print(f"BLOCKED: mknod {step} made a node, but opening it: {e.strerror}")

# Is the disk reachable under its usual names?
found = [p for p in ("/dev/vda", "/dev/sda", "/dev/nvme0n1", "/dev/mem", "/dev/kmem")
         if os.path.exists(p)]
if found:
    print(f"ESCAPED: host device nodes present in /dev: {found}")
else:
    print("BLOCKED: no disk or memory device in the sandbox's /dev")
