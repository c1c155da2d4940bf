const tree = { v: 1, kids: [{ v: 2, kids: [{ v: 4, kids: [] }] }, { v: 3, kids: [] }] };
const bfs = root => {
  const out = [], q = [root];
  while (q.length) { const n = q.shift(); out.push(n.v); q.push(...n.kids); }
  return out;
};
const dfs = n => [n.v, ...n.kids.flatMap(dfs)];
console.log(bfs(tree), dfs(tree));
