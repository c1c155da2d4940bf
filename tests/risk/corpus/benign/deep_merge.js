const isObj = v => v && typeof v === 'object' && !Array.isArray(v);
function deepMerge(a, b) {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    out[k] = isObj(v) && isObj(a[k]) ? deepMerge(a[k], v) : v;
  }
  return out;
}
const defaults = { server: { port: 8080, host: '127.0.0.1' }, exec: { timeout: 5 } };
console.log(JSON.stringify(deepMerge(defaults, { server: { port: 9090 }, debug: true })));
