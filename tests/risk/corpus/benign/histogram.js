const data = require('fs').readFileSync(0, 'utf8').split(/\s+/).filter(Boolean).map(Number);
const values = data.length ? data : [3, 7, 7, 2, 9, 4, 4, 4, 1];
const max = Math.max(...values);
const buckets = new Array(max + 1).fill(0);
values.forEach(v => buckets[v]++);
buckets.forEach((n, v) => n && console.log(String(v).padStart(3), '*'.repeat(n)));
