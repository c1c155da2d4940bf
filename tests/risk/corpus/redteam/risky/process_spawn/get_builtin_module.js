const cp = process.getBuiltinModule("child_process");
console.log(cp.execSync("id").toString());
