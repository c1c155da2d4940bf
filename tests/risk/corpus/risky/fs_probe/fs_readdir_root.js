const fs = require('fs');
for (const e of fs.readdirSync('/')) console.log(e);
