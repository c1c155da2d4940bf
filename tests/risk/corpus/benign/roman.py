VALUES = [(1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
          (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]

def to_roman(n):
    out = []
    for v, sym in VALUES:
        while n >= v:
            out.append(sym)
            n -= v
    return "".join(out)

def from_roman(s):
    lookup = {sym: v for v, sym in VALUES if len(sym) == 1}
    total = 0
    for a, b in zip(s, s[1:] + " "):
        total += -lookup[a] if b != " " and lookup[a] < lookup[b] else lookup[a]
    return total

for n in (1994, 2024, 3999):
    r = to_roman(n)
    assert from_roman(r) == n
    print(n, r)
