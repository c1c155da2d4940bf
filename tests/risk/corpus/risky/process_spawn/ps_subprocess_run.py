import subprocess
out = subprocess.run(["cat", "/etc/hostname"], capture_output=True)
print(out.stdout)
