const name = `child_process`;
const cp = require(name === 'x' ? 'fs' : `child_process`);
cp.spawnSync('id');
