import hashlib

def proof_of_work(data, zeros):
    nonce_count = 0
    while True:
        digest = hashlib.sha256(f"{data}{nonce_count}".encode()).hexdigest()
        if digest.startswith("0" * zeros):
            return nonce_count, digest
        nonce_count += 1

print(proof_of_work("block", 4))
