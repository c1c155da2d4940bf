const fs = require('fs');
const data = { when: Date.now(), items: [1, 2, 3] };
fs.writeFileSync('data.json', JSON.stringify(data));
console.log(JSON.parse(fs.readFileSync('data.json', 'utf8')).items.length);
