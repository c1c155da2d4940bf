echo quit | telnet 192.0.2.5 25
