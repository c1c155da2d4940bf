from scapy.all import IP, ICMP, send
send(IP(dst="10.0.0.1") / ICMP())
