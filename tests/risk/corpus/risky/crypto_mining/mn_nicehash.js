const cfg = require('./config.json');
console.log(`mining to ${cfg.wallet} via stratum.nicehash.com`);
