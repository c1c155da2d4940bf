def rle(s):
    if not s:
        return ""
    out, prev, count = [], s[0], 1
    for ch in s[1:]:
        if ch == prev:
            count += 1
        else:
            out.append(f"{prev}{count}")
            prev, count = ch, 1
    out.append(f"{prev}{count}")
    return "".join(out)

def unrle(s):
    import re
    return "".join(ch * int(n) for ch, n in re.findall(r"(\D)(\d+)", s))

w = "aaabccddddde"
assert unrle(rle(w)) == w
print(rle(w))
