# ccx-attack: open AF_PACKET sockets (raw and cooked) to sniff or inject frames on lo
# ccx-category: network
# ccx-status: ok
# ccx-limits: wall_ms=30000
# ccx-event: syscall_refused ^syscall=socket family=AF_PACKET type=SOCK_RAW protocol=768
# ccx-event: syscall_refused ^syscall=socket family=AF_PACKET type=SOCK_DGRAM
# ccx-steps: 2
import socket

ETH_P_ALL = 0x0003
for kind, name in ((socket.SOCK_RAW, "SOCK_RAW"), (socket.SOCK_DGRAM, "SOCK_DGRAM")):
    try:
        s = socket.socket(socket.AF_PACKET, kind, socket.htons(ETH_P_ALL))
    except OSError as e:
        print(f"BLOCKED: AF_PACKET {name}: {e}")
        continue
    try:
        s.settimeout(1)
        s.bind(("lo", 0))
        print(f"ESCAPED: AF_PACKET {name} bound to lo, got {len(s.recv(2048))} bytes")
    except OSError as e:
        print(f"ESCAPED: AF_PACKET {name} socket opened (bind: {e})")
    s.close()
