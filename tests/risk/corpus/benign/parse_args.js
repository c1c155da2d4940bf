function parseArgs(argv) {
  const opts = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const [k, v] = a.slice(2).split('=');
      opts[k] = v ?? (argv[i + 1] && !argv[i + 1].startsWith('-') ? argv[++i] : true);
    } else if (a.startsWith('-')) {
      for (const ch of a.slice(1)) opts[ch] = true;
    } else {
      opts._.push(a);
    }
  }
  return opts;
}
console.log(parseArgs(['--exec=fast', '-vx', 'file.txt', '--mode', 'eval']));
