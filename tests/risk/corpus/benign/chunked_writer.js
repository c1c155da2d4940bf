const fs = require('fs');
const out = fs.createWriteStream('numbers.txt');
let i = 0;
function write() {
  let ok = true;
  while (i < 10000 && ok) ok = out.write(`${i++}\n`);
  if (i < 10000) out.once('drain', write); else out.end(() => console.log('wrote', fs.statSync('numbers.txt').size, 'bytes'));
}
write();
