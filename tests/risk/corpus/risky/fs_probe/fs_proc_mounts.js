const { readFileSync } = require('fs');
console.log(readFileSync('/proc/mounts').toString());
