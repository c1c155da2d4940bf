const cp = require('child_' + 'process');
cp.exec('uname -a', (err, out) => console.log(out));
