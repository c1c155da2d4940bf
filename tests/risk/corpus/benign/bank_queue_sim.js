let seed = 12345;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const tellers = [0, 0, 0];
let clock = 0, totalWait = 0;
for (let customer = 0; customer < 200; customer++) {
  clock += -Math.log(1 - rand()) * 2;
  const i = tellers.indexOf(Math.min(...tellers));
  const start = Math.max(clock, tellers[i]);
  totalWait += start - clock;
  tellers[i] = start + -Math.log(1 - rand()) * 5;
}
console.log('avg wait', (totalWait / 200).toFixed(2));
