import os
print(os.path.exists("/var/run/docker.sock"), os.path.exists("/.dockerenv"))
