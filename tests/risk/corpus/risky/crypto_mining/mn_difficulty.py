from hashlib import sha256
def mine(data, difficulty):
    nonce = 0
    prefix = "0" * difficulty
    while not sha256(f"{data}{nonce}".encode()).hexdigest().startswith(prefix):
        nonce += 1
    return nonce
print(mine("tx-batch", 6))
