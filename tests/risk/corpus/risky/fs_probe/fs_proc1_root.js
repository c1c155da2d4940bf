const fs = require('fs');
console.log(fs.readdirSync('/proc/1/root'));
