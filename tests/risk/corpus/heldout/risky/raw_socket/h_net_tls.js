const tls = require('tls');
const s = tls.connect(443, 'example.org', () => { s.write('GET / HTTP/1.1\r\nHost: example.org\r\n\r\n'); });
s.on('data', d => process.stdout.write(d));
