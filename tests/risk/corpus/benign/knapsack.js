function knapsack(items, cap) {
  const dp = new Array(cap + 1).fill(0);
  for (const { w, v } of items) {
    for (let c = cap; c >= w; c--) dp[c] = Math.max(dp[c], dp[c - w] + v);
  }
  return dp[cap];
}
console.log(knapsack([{ w: 1, v: 1 }, { w: 3, v: 4 }, { w: 4, v: 5 }, { w: 5, v: 7 }], 7));
