const fs = require('fs'), path = require('path');
function walk(d) {
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) walk(p); else console.log(p);
  }
}
walk('/');
