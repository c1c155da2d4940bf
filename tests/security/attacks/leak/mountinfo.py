# ccx-attack: read the mount tables and cgroup paths for the host's directories
# ccx-category: leak
# ccx-status: ok
# ccx-steps: 4
# Both tables are printed whole: the harness fails the attack if the source, build or fleet
# temp dir shows up. Here: no mount may come from a host directory of ccx (its run dir, the
# job's workspace path, a temp dir), the root must be the sandbox's own tmpfs, and the
# cgroup namespace must hide the job's cgroup path (ccx/w<pid>-<n>).
import re

HOST_PATHS = re.compile(r"/run/|/tmp/|/home/|/root|/work/main|ccx-it-|/build|/w\d+-\d+")


def check_table(name, text, root_of):
    print(f"--- {name}\n{text}---")
    bad = [line for line in text.splitlines() if HOST_PATHS.search(line)]
    if bad:
        print(f"ESCAPED: {name} names host paths: {bad}")
    else:
        print(f"BLOCKED: {name}: no host path of ccx in {len(text.splitlines())} mounts")
    return [root_of(line.split()) for line in text.splitlines()]


with open("/proc/self/mountinfo") as f:
    info = f.read()
# mountinfo: id parent major:minor root mount-point options ... - type source super-options
roots = check_table("/proc/self/mountinfo", info,
                    lambda f: (f[4], f[f.index("-") + 2], f[3]))
with open("/proc/mounts") as f:
    check_table("/proc/mounts", f.read(), lambda f: f[1])

top = [(source, root) for point, source, root in roots if point == "/"]
if top == [("ccx-root", "/")]:
    print("BLOCKED: the root mount: the sandbox's own tmpfs")
else:
    print(f"ESCAPED: the root mount is {top}")

with open("/proc/self/cgroup") as f:
    cgroups = f.read()
print(f"--- /proc/self/cgroup\n{cgroups}---")
paths = [line.split(":", 2)[2] for line in cgroups.splitlines()]
if all(p == "/" for p in paths):
    print("BLOCKED: /proc/self/cgroup: every hierarchy shows /")
else:
    print(f"ESCAPED: /proc/self/cgroup shows {paths}")
