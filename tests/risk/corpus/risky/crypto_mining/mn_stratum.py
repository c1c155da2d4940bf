import socket, json
pool = "stratum+tcp://pool.supportxmr.com:3333"
host, port = pool[14:].split(":")
s = socket.create_connection((host, int(port)))
s.sendall(json.dumps({"id": 1, "method": "mining.subscribe", "params": []}).encode() + b"\n")
