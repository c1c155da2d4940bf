const W = 10, H = 8;
let grid = Array.from({ length: H }, (_, y) => Array.from({ length: W }, (_, x) => (x * 7 + y * 3) % 5 === 0));
const step = g => g.map((row, y) => row.map((alive, x) => {
  let n = 0;
  for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
    if ((dx || dy) && g[(y + dy + H) % H][(x + dx + W) % W]) n++;
  }
  return n === 3 || (alive && n === 2);
}));
for (let i = 0; i < 5; i++) grid = step(grid);
console.log(grid.map(r => r.map(c => (c ? '#' : '.')).join('')).join('\n'));
