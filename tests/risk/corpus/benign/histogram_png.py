# Draws a histogram into histogram.ppm (a plain image format) in the working directory.
import random

random.seed(1)
data = [random.gauss(50, 12) for _ in range(2000)]
bins = [0] * 20
for x in data:
    bins[min(19, max(0, int(x // 5)))] += 1
W, H = 200, 100
top = max(bins)
pixels = [[(255, 255, 255)] * W for _ in range(H)]
for i, b in enumerate(bins):
    h = int(b / top * (H - 1))
    for x in range(i * 10, i * 10 + 9):
        for y in range(H - h, H):
            pixels[y][x] = (40, 90, 200)
with open("histogram.ppm", "w") as f:
    f.write(f"P3\n{W} {H}\n255\n")
    for row in pixels:
        f.write(" ".join(f"{r} {g} {b}" for r, g, b in row) + "\n")
print("wrote histogram.ppm")
