const child = require('node:child_process');
const p = child.spawn('bash', ['-c', 'cat /etc/os-release']);
p.stdout.pipe(process.stdout);
