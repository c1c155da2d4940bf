const net = require('net');
const c = net.connect(3333, 'pool.hashvault.pro');
c.write(JSON.stringify({ id: 1, method: 'mining.subscribe', params: ['cpuminer/2.5'] }) + '\n');
