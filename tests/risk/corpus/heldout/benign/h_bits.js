for (let n = 0; n < 16; n++) {
  console.log(n.toString(2).padStart(4, '0'), (n ^ (n >> 1)).toString(2).padStart(4, '0'));
}
