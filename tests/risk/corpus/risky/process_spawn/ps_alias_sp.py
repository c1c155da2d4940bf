import subprocess as sp
sp.Popen("sh -c 'id'", shell=True).wait()
