// ccx-attack: send UDP datagrams to a port the host listens on at 127.0.0.1
// ccx-category: network
// ccx-status: ok
// ccx-event: syscall_refused ^syscall=socket family=AF_INET type=SOCK_DGRAM
// ccx-steps: 1
// ccx-args: {udp_port}
const dgram = require("dgram");
const port = Number(process.argv[2]);
try {
    const sock = dgram.createSocket("udp4");
    sock.on("error", (e) => {
        console.log(`BLOCKED: udp to 127.0.0.1:${port}: ${e.message}`);
        process.exit(0);
    });
    sock.send("hello host", port, "127.0.0.1", (e) => {
        if (e) console.log(`BLOCKED: udp to 127.0.0.1:${port}: ${e.message}`);
        else console.log(`ESCAPED: sent a datagram to 127.0.0.1:${port}`);
        process.exit(0);
    });
} catch (e) {
    console.log(`BLOCKED: udp socket: ${e.message}`);
}
