print(open("/etc/hosts").read())
print(open("/etc/resolv.conf").read())
