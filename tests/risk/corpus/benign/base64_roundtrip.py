# Encodes user text to base64 and back (data only: nothing decoded is ever run).
import base64
import sys

text = sys.stdin.read() or "hello, world"
enc = base64.b64encode(text.encode()).decode()
dec = base64.b64decode(enc).decode()
print(enc)
print(dec == text)
