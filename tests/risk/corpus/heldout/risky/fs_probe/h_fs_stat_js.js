const fs = require('fs');
for (const p of ['/etc/shadow', '/root', '/var/log/syslog']) {
  try { console.log(p, fs.statSync(p).mode); } catch (e) { console.log(p, e.code); }
}
