const TOKEN = /\s*(?:(\d+\.?\d*)|([A-Za-z_]\w*)|(\S))/y;
function tokenize(src) {
  const out = [];
  TOKEN.lastIndex = 0;
  let m;
  while (TOKEN.lastIndex < src.length && (m = TOKEN.exec(src))) {
    if (m[1]) out.push({ t: 'num', v: Number(m[1]) });
    else if (m[2]) out.push({ t: 'id', v: m[2] });
    else if (m[3]) out.push({ t: 'op', v: m[3] });
  }
  return out;
}
console.log(tokenize('eval(x) + system * 2.5 / socket'));
