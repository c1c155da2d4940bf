// ccx-attack: reach host services over IPv6 loopback ::1 (TCP and UDP) in case only v4 is shut
// ccx-category: network
// ccx-status: ok
// ccx-limits: wall_ms=30000
// ccx-event: syscall_refused ^syscall=socket family=AF_INET6 type=SOCK_STREAM
// ccx-event: syscall_refused ^syscall=socket family=AF_INET6 type=SOCK_DGRAM
// ccx-steps: 2
// ccx-args: {tcp_port} {udp_port}
const dgram = require("dgram");
const net = require("net");
const [tcpPort, udpPort] = process.argv.slice(2).map(Number);

function udp() {
    try {
        const sock = dgram.createSocket("udp6");
        sock.on("error", (e) => { console.log(`BLOCKED: udp [::1]:${udpPort}: ${e.code}`); });
        sock.send("hello host", udpPort, "::1", (e) => {
            if (e) console.log(`BLOCKED: udp [::1]:${udpPort}: ${e.code}`);
            else console.log(`ESCAPED: sent a datagram to [::1]:${udpPort}`);
            sock.close();
        });
    } catch (e) {
        console.log(`BLOCKED: udp6 socket: ${e.code || e.message}`);
    }
}

const sock = net.connect({ host: "::1", port: tcpPort, family: 6 });
sock.on("connect", () => {
    console.log(`ESCAPED: connected to [::1]:${tcpPort}`);
    sock.destroy();
    udp();
});
sock.on("error", (e) => { console.log(`BLOCKED: tcp [::1]:${tcpPort}: ${e.code}`); udp(); });
