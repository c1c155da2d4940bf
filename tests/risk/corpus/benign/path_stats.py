import os
import os.path
import sys

# Walks the job's own working directory (never the host) and reports file sizes.
base = os.getcwd()
with open("a.txt", "w") as f:
    f.write("hello\n" * 10)
os.makedirs("out/logs", exist_ok=True)
with open(os.path.join("out", "logs", "b.log"), "w") as f:
    f.write("system ok\n")
for root, dirs, files in os.walk("."):
    for name in files:
        p = os.path.join(root, name)
        print(os.path.relpath(p, base), os.path.getsize(p))
