import string

def shift(text, k):
    lower, upper = string.ascii_lowercase, string.ascii_uppercase
    table = str.maketrans(lower + upper, lower[k:] + lower[:k] + upper[k:] + upper[:k])
    return text.translate(table)

msg = "Attack at dawn: eval the system socket"
enc = shift(msg, 3)
print(enc)
print(shift(enc, 23))
