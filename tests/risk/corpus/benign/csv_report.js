'use strict';
const fs = require('fs');

const input = fs.readFileSync(0, 'utf8');
const [header, ...rows] = input.trim().split(/\r?\n/);
const cols = header.split(',');
const byCategory = {};
for (const row of rows) {
  const rec = Object.fromEntries(row.split(',').map((v, i) => [cols[i], v]));
  const cat = rec.category || 'other';
  byCategory[cat] = (byCategory[cat] || 0) + Number(rec.price || 0);
}
fs.writeFileSync('report.json', JSON.stringify(byCategory, null, 2));
console.log(byCategory);
