(async () => {
  const m = await import('child_process');
  m.execFileSync('/bin/ls', ['/']);
})();
