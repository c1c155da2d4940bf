# ccx-attack: run the host's setuid-root binaries (su, mount, passwd...) to gain euid 0
# ccx-category: privilege
# ccx-status: ok
# ccx-event: syscall_refused ^syscall=mount
# ccx-steps: 9
# ccx-limits: wall_ms=30000
# /usr is bound nosuid, the job has no_new_privs and root is not even mapped in the job's
# user namespace: each binary must run, and end, with the job's own uid and gid.
import os
import subprocess
import time

BINARIES = (
    ["/usr/bin/su", "-c", "id"],
    ["/usr/bin/mount", "-t", "tmpfs", "none", "/tmp"],
    ["/usr/bin/umount", "/work"],
    ["/usr/bin/passwd", "-d", "root"],
    ["/usr/bin/newgrp", "root"],
    ["/usr/bin/chfn", "-f", "pwned", "root"],
    ["/usr/bin/chsh", "-s", "/bin/sh", "root"],
    ["/usr/bin/gpasswd", "-a", "ccx", "root"],
)


def ids_of(pid):
    """The Uid and Gid lines of a live (or not yet reaped) process."""
    with open(f"/proc/{pid}/status") as f:
        lines = [line.split()[1:] for line in f if line.startswith(("Uid:", "Gid:"))]
    return [int(x) for x in lines[0]], [int(x) for x in lines[1]]


with open("/proc/self/status") as f:
    nnp = [line.split()[1] for line in f if line.startswith("NoNewPrivs:")][0]
if nnp == "1":
    print("BLOCKED: no_new_privs: set before the job started, setuid bits are ignored")
else:
    print(f"ESCAPED: no_new_privs: NoNewPrivs is {nnp}")

for argv in BINARIES:
    path = argv[0]
    if not os.path.exists(path):
        print(f"BLOCKED: {path}: not in the sandbox")
        continue
    setuid = os.stat(path).st_mode & 0o4000
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    time.sleep(0.3)  # su and passwd wait for a password; the others have exited (unreaped)
    uids, gids = ids_of(proc.pid)
    proc.kill()
    out = proc.communicate()[0].decode(errors="replace").strip().splitlines()
    said = out[0] if out else "no output"
    # Root is not mapped here: a setuid exec would show as 65534, so any other id counts.
    if set(uids) != {os.getuid()} or set(gids) != {os.getgid()}:
        print(f"ESCAPED: {path}: ran with uids {uids} gids {gids}")
    else:
        print(f"BLOCKED: {path} (setuid bit {'set' if setuid else 'unset'}): ran as uids "
              f"{uids}, said: {said}")
