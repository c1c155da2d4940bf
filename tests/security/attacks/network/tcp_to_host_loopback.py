# ccx-attack: connect to a TCP port that the host listens on at 127.0.0.1
# ccx-category: network
# ccx-status: ok
# ccx-event: syscall_refused ^syscall=socket family=AF_INET type=SOCK_STREAM
# ccx-steps: 1
# ccx-args: {tcp_port}
import socket
import sys

port = int(sys.argv[1])
try:
    socket.create_connection(("127.0.0.1", port), timeout=2).close()
    print(f"ESCAPED: connected to 127.0.0.1:{port}")
except OSError as e:
    print(f"BLOCKED: connect to 127.0.0.1:{port}: {e}")
