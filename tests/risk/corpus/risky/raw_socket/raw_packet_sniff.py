import socket
sniffer = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(3))
while True:
    frame, addr = sniffer.recvfrom(65535)
    print(len(frame), addr)
