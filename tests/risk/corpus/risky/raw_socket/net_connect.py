import socket
c = socket.create_connection(("10.0.0.5", 6379))
c.sendall(b"INFO\r\n")
print(c.recv(4096))
