from socket import socket as S, AF_INET, SOCK_STREAM
for port in range(1, 1024):
    sk = S(AF_INET, SOCK_STREAM)
    sk.settimeout(0.05)
    if sk.connect_ex(("127.0.0.1", port)) == 0:
        print("open", port)
