import os
with os.scandir("/proc") as it:
    for e in it:
        print(e.name)
