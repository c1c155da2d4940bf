const fs = require('fs');
['/sys/kernel/debug', '/sys/class/net', '/dev/mem'].forEach(p => console.log(p, fs.existsSync(p)));
