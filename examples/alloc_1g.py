# Allocates 1 GiB and writes to every page of it, so the memory is really used: a lazily
# mapped buffer that nobody touches would not count against the limit.
PAGE = 4096

buf = bytearray(1 << 30)
for offset in range(0, len(buf), PAGE):
    buf[offset] = 1
print("touched", len(buf) // PAGE, "pages")
