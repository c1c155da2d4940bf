const pts = [[0, 0], [3, 4], [6, 0], [3, -4], [1, 1]];
const dist = (a, b) => Math.hypot(a[0] - b[0], a[1] - b[1]);
function* perms(arr) {
  if (arr.length <= 1) { yield arr; return; }
  for (let i = 0; i < arr.length; i++) {
    for (const p of perms([...arr.slice(0, i), ...arr.slice(i + 1)])) yield [arr[i], ...p];
  }
}
let best = Infinity, bestRoute;
for (const p of perms([1, 2, 3, 4])) {
  const route = [0, ...p, 0];
  let d = 0;
  for (let i = 1; i < route.length; i++) d += dist(pts[route[i - 1]], pts[route[i]]);
  if (d < best) { best = d; bestRoute = route; }
}
console.log(bestRoute.join('>'), best.toFixed(3));
