import hashlib, itertools
target = "0000"
for nonce in itertools.count():
    digest = hashlib.sha256(f"block:{nonce}".encode()).hexdigest()
    if digest.startswith(target):
        print(nonce, digest)
        break
