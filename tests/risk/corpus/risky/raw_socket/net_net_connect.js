const net = require('net');
const c = net.connect(6379, '10.0.0.5', () => c.write('INFO\r\n'));
c.on('data', d => console.log(d.toString()));
