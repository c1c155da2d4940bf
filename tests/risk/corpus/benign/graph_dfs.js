const edges = [[0, 1], [0, 2], [1, 3], [2, 3], [3, 4], [5, 6]];
const adj = new Map();
for (const [a, b] of edges) {
  if (!adj.has(a)) adj.set(a, []);
  if (!adj.has(b)) adj.set(b, []);
  adj.get(a).push(b);
  adj.get(b).push(a);
}
const seen = new Set();
let components = 0;
for (const node of adj.keys()) {
  if (seen.has(node)) continue;
  components++;
  const stack = [node];
  while (stack.length) {
    const n = stack.pop();
    if (seen.has(n)) continue;
    seen.add(n);
    stack.push(...adj.get(n));
  }
}
console.log('components:', components);
