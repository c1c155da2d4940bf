const samples = ['https://example.com:8443/a/b?x=1&y=two#frag', 'http://localhost/eval?cmd=exec'];
for (const s of samples) {
  const u = new URL(s);
  console.log(u.hostname, u.port || '(default)', u.pathname, Object.fromEntries(u.searchParams));
}
