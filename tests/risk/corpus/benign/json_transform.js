const raw = require('fs').readFileSync(0, 'utf8') || '{"users":[{"name":"ana","tags":["eval","admin"]}]}';
const data = JSON.parse(raw);
const out = data.users.map(u => ({
  name: u.name.toUpperCase(),
  tagCount: (u.tags || []).length,
  isAdmin: (u.tags || []).includes('admin'),
}));
console.log(JSON.stringify(out, null, 2));
