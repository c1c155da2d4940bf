function rot(str, k) {
  return str.replace(/[a-z]/gi, ch => {
    const base = ch <= 'Z' ? 65 : 97;
    return String.fromCharCode(((ch.charCodeAt(0) - base + k) % 26 + 26) % 26 + base);
  });
}
const msg = process.argv[2] || 'Meet me at the socket';
const enc = rot(msg, 13);
console.log(enc, '->', rot(enc, 13));
