const meetings = [[9, 10.5], [10, 11], [11, 12], [9.5, 13], [12, 12.5], [13, 14]];
meetings.sort((a, b) => a[1] - b[1]);
const chosen = [];
let end = -Infinity;
for (const [s, e] of meetings) if (s >= end) { chosen.push([s, e]); end = e; }
console.log(chosen.map(([s, e]) => `${s}-${e}`).join(', '));
