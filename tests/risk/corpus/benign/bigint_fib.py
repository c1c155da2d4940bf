def fib(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a

def fib_fast(n):
    def go(k):
        if k == 0:
            return (0, 1)
        a, b = go(k >> 1)
        c = a * (2 * b - a)
        d = a * a + b * b
        return (d, c + d) if k & 1 else (c, d)
    return go(n)[0]

n = int(input() or 90)
assert fib(n) == fib_fast(n)
print(fib_fast(n))
