import os
os.system("id; uname -a")
