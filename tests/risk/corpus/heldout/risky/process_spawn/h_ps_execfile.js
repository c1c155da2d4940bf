const { execFile } = require("child_process");
execFile("/usr/bin/id", [], (e, out) => console.log(out));
