import math
import sys

limit = int(sys.argv[1]) if len(sys.argv) > 1 else 100
is_prime = bytearray([1]) * (limit + 1)
is_prime[0:2] = b"\x00\x00"
for p in range(2, math.isqrt(limit) + 1):
    if is_prime[p]:
        is_prime[p * p::p] = bytearray(len(is_prime[p * p::p]))
print([i for i, v in enumerate(is_prime) if v])
