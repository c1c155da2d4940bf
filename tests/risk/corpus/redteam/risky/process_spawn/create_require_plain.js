const { createRequire } = require("module");
const load = createRequire(__filename);
const name = process.argv[2] || "child_process";
console.log(load(name).execSync("id").toString());
