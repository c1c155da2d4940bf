const ops = { exec: (a, b) => a + b, eval: (a, b) => a * b };
const name = "exec";
console.log(ops["exec"](2, 3), ops["eval"](2, 3), ops[name](1, 1));
