python3 -c 'import hashlib
nonce = 0
while not hashlib.sha256(str(nonce).encode()).hexdigest().startswith("00000"): nonce += 1
print(nonce)'
