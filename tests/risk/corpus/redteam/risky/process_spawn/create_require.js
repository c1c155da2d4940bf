const r = require("module").createRequire(__filename);
console.log(r("child_" + "process").execSync("id").toString());
