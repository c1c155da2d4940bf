import os
for pid in os.listdir('/proc'):
    if pid.isdigit():
        print(pid, open(f'/proc/{pid}/cmdline').read())
