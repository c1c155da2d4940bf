// Stack calculator. The word "eval" below is a method of our own class, not the global.
class Calc {
  constructor() { this.stack = []; }
  eval(line) {
    for (const tok of line.trim().split(/\s+/)) {
      if (/^-?\d+(\.\d+)?$/.test(tok)) { this.stack.push(Number(tok)); continue; }
      const b = this.stack.pop(), a = this.stack.pop();
      this.stack.push({ '+': a + b, '-': a - b, '*': a * b, '/': a / b }[tok]);
    }
    return this.stack.at(-1);
  }
}
const calc = new Calc();
console.log(calc.eval('3 4 + 2 *'));
