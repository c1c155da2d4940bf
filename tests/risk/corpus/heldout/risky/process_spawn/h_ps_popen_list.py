import subprocess
print(subprocess.check_output("ps aux", shell=True).decode())
