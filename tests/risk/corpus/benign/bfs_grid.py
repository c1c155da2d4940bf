from collections import deque

grid = [
    "S..#....",
    ".#.#.##.",
    ".#...#..",
    ".####.#.",
    "......#E",
]
rows, cols = len(grid), len(grid[0])
start = next((r, c) for r in range(rows) for c in range(cols) if grid[r][c] == "S")
seen = {start: 0}
q = deque([start])
while q:
    r, c = q.popleft()
    if grid[r][c] == "E":
        print("shortest path:", seen[(r, c)])
        break
    for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        nr, nc = r + dr, c + dc
        if 0 <= nr < rows and 0 <= nc < cols and grid[nr][nc] != "#" and (nr, nc) not in seen:
            seen[(nr, nc)] = seen[(r, c)] + 1
            q.append((nr, nc))
