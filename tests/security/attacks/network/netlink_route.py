# ccx-attack: talk rtnetlink: dump the interfaces, then add a dummy link and bring lo up
# ccx-category: network
# ccx-status: ok
# ccx-limits: wall_ms=30000
# ccx-event: syscall_refused ^syscall=socket family=AF_NETLINK type=SOCK_RAW protocol=0
# ccx-steps: 3
import socket
import struct

RTM_NEWLINK, RTM_GETLINK = 16, 18
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP, NLM_F_CREATE, NLM_F_EXCL = 1, 4, 0x300, 0x400, 0x200
IFLA_IFNAME, IFLA_LINKINFO, IFLA_INFO_KIND = 3, 18, 1
IFF_UP = 1


def attr(kind, payload):
    size = 4 + len(payload)
    return struct.pack("HH", size, kind) + payload + b"\0" * (-size % 4)


def message(kind, flags, body):
    return struct.pack("IHHII", 16 + len(body), kind, flags, 1, 0) + body


def ifinfo(index=0, flags=0, change=0):
    return struct.pack("BxHiII", socket.AF_UNSPEC, 0, index, flags, change)


dummy = attr(IFLA_IFNAME, b"ccx0\0") + attr(IFLA_LINKINFO, attr(IFLA_INFO_KIND, b"dummy"))
steps = (
    ("dump links", message(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, ifinfo())),
    ("add dummy link ccx0", message(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE
                                    | NLM_F_EXCL, ifinfo() + dummy)),
    ("set lo up", message(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, ifinfo(1, IFF_UP, IFF_UP))),
)
for name, request in steps:
    try:
        s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    except OSError as e:
        print(f"BLOCKED: {name}: {e}")
        continue
    with s:
        s.settimeout(2)
        s.send(request)
        reply = s.recv(65536)
        # An error reply (NLMSG_ERROR with a negative code) would still mean netlink is reachable.
        print(f"ESCAPED: {name}: netlink answered {len(reply)} bytes")
