const opts = { algo: 'randomx', pool: 'gulf.moneroocean.stream:10128', threads: 2 };
console.log(opts);
