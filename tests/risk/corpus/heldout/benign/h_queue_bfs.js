const graph = { a: ['b', 'c'], b: ['d'], c: ['d', 'e'], d: ['f'], e: ['f'], f: [] };
const dist = { a: 0 };
const q = ['a'];
while (q.length) {
  const u = q.shift();
  for (const v of graph[u]) if (!(v in dist)) { dist[v] = dist[u] + 1; q.push(v); }
}
console.log(dist);
