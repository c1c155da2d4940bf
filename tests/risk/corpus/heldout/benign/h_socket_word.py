# Counts how often the words "socket", "exec" and "system" appear in stdin text.
import sys
text = sys.stdin.read().lower()
for w in ("socket", "exec", "system", "eval"):
    print(w, text.count(w))
