const crypto = require('crypto');
let nonce = 0;
const difficulty = 5;
for (;;) {
  const h = crypto.createHash('sha256').update('block' + nonce).digest('hex');
  if (h.startsWith('0'.repeat(difficulty))) { console.log(nonce, h); break; }
  nonce++;
}
