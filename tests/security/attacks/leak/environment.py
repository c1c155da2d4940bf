# ccx-attack: read the environment, own and of every process in view, for the host's secrets
# ccx-category: leak
# ccx-status: ok
# ccx-steps: 3
# The job's environment is exactly sandbox.env: PATH, HOME and LANG. Everything found is
# printed, so the harness also sees a canary of the supervisor's environment if it leaked.
import os

ALLOWED = {"PATH", "HOME", "LANG"}


def check(step, names):
    extra = sorted(set(names) - ALLOWED)
    if extra:
        print(f"ESCAPED: {step}: holds {', '.join(extra)}")
    else:
        print(f"BLOCKED: {step}: only {', '.join(sorted(names))}")


for name, value in sorted(os.environ.items()):
    print(f"os.environ {name}={value}")
check("os.environ", os.environ)

with open("/proc/self/environ", "rb") as f:
    pairs = [p.decode(errors="replace") for p in f.read().split(b"\0") if p]
for pair in pairs:
    print(f"/proc/self/environ {pair}")
check("/proc/self/environ", [p.partition("=")[0] for p in pairs])

seen = []
for pid in sorted(filter(str.isdigit, os.listdir("/proc")), key=int):
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            data = f.read()
    except OSError as e:
        print(f"/proc/{pid}/environ: {e.strerror}")
        continue
    for pair in data.split(b"\0"):
        if pair:
            print(f"/proc/{pid}/environ {pair.decode(errors='replace')}")
            seen.append(pair.decode(errors="replace").partition("=")[0])
check("/proc/<pid>/environ of every process", seen)
