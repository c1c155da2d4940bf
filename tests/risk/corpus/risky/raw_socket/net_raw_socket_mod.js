const raw = require('raw-socket');
const s = raw.createSocket({ protocol: raw.Protocol.ICMP });
s.send(Buffer.alloc(8), 0, 8, '10.0.0.1', () => {});
