const nums = require('fs').readFileSync(0, 'utf8').split(/\s+/).filter(Boolean).map(Number);
const stats = nums.reduce((a, x) => ({ min: Math.min(a.min, x), max: Math.max(a.max, x), sum: a.sum + x }), { min: Infinity, max: -Infinity, sum: 0 });
console.log(stats, nums.length ? stats.sum / nums.length : 0);
