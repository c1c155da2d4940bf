const readline = require('readline');
const rl = readline.createInterface({ input: process.stdin });
const counts = new Map();
rl.on('line', line => {
  for (const w of line.toLowerCase().match(/[a-z]+/g) || []) counts.set(w, (counts.get(w) || 0) + 1);
});
rl.on('close', () => {
  [...counts].sort((a, b) => b[1] - a[1]).slice(0, 5).forEach(([w, n]) => console.log(w, n));
});
