import itertools

def step(cells):
    counts = {}
    for (x, y) in cells:
        for dx, dy in itertools.product((-1, 0, 1), repeat=2):
            if dx or dy:
                counts[(x + dx, y + dy)] = counts.get((x + dx, y + dy), 0) + 1
    return {c for c, n in counts.items() if n == 3 or (n == 2 and c in cells)}

glider = {(1, 0), (2, 1), (0, 2), (1, 2), (2, 2)}
for gen in range(8):
    glider = step(glider)
print(sorted(glider))
