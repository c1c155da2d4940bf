function* primes() {
  const composites = new Map();
  for (let n = 2; ; n++) {
    if (!composites.has(n)) { yield n; composites.set(n * n, [n]); continue; }
    for (const p of composites.get(n)) {
      const next = n + p;
      composites.set(next, [...(composites.get(next) || []), p]);
    }
    composites.delete(n);
  }
}
const first = [];
for (const p of primes()) { if (first.length === 25) break; first.push(p); }
console.log(first.join(','));
