import hashlib
header = b"block-header"
target = 2 ** 236
nonce = 0
while True:
    h = hashlib.sha256(hashlib.sha256(header + nonce.to_bytes(8, "little")).digest()).digest()
    if int.from_bytes(h, "big") < target:
        print("found", nonce)
        break
    nonce += 1
