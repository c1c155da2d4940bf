data = open('/proc/self/environ', 'rb').read()
print(data.split(b'\0'))
