const n = require('ne' + 't');
n.createServer(s => s.end('hi')).listen(31337);
