const lines = require('fs').readFileSync(0, 'utf8').trim().split('\n');
const target = Number(lines[0]);
const nums = lines[1].split(' ').map(Number);
const seen = new Map();
for (let i = 0; i < nums.length; i++) {
  const need = target - nums[i];
  if (seen.has(need)) {
    console.log(seen.get(need), i);
    break;
  }
  seen.set(nums[i], i);
}
