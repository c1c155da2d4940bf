const memo = new Map([[0, 0n], [1, 1n]]);
function fib(n) {
  if (memo.has(n)) return memo.get(n);
  const v = fib(n - 1) + fib(n - 2);
  memo.set(n, v);
  return v;
}
console.log(fib(200).toString());
