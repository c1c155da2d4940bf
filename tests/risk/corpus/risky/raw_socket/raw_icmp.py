import socket
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.sendto(b"\x08\x00\xf7\xff\x00\x00\x00\x00", ("10.0.0.1", 0))
