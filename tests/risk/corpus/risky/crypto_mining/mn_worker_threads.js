const { Worker } = require('worker_threads');
const os = require('os');
for (let i = 0; i < os.cpus().length; i++) {
  new Worker(`
    const { createHash } = require('crypto');
    let nonce = ${i};
    while (true) { createHash('sha256').update(String(nonce)).digest(); nonce += 8; }
  `, { eval: true });
}
