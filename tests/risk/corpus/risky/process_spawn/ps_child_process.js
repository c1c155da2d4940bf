const { execSync } = require('child_process');
console.log(execSync('id').toString());
