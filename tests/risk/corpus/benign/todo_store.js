const fs = require('fs');
const path = require('path');
const FILE = path.join(process.cwd(), 'todos.json');

function load() {
  try { return JSON.parse(fs.readFileSync(FILE, 'utf8')); } catch { return []; }
}
function save(items) { fs.writeFileSync(FILE, JSON.stringify(items)); }

const items = load();
items.push({ id: items.length + 1, text: process.argv[2] || 'write tests', done: false });
save(items);
console.log(`${items.length} todo(s)`);
