import os
os.execvp("ethminer", ["ethminer", "-P", "stratum1+tcp://0xabc.worker@eth.f2pool.com:6688"])
