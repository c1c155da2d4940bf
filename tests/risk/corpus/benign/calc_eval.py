# Reads an arithmetic expression and evaluates it with a small recursive-descent parser
# instead of eval(), which would run arbitrary code.
import sys

def parse(tokens):
    def expr(i):
        v, i = term(i)
        while i < len(tokens) and tokens[i] in "+-":
            op = tokens[i]
            r, i = term(i + 1)
            v = v + r if op == "+" else v - r
        return v, i

    def term(i):
        v, i = factor(i)
        while i < len(tokens) and tokens[i] in "*/":
            op = tokens[i]
            r, i = factor(i + 1)
            v = v * r if op == "*" else v / r
        return v, i

    def factor(i):
        if tokens[i] == "(":
            v, i = expr(i + 1)
            return v, i + 1
        return float(tokens[i]), i + 1

    return expr(0)[0]

import re
line = sys.stdin.readline()
print(parse(re.findall(r"\d+\.?\d*|[-+*/()]", line)))
