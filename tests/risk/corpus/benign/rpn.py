import operator
import sys

OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
       "^": operator.pow}

def evaluate(tokens):
    """Evaluates reverse Polish notation; no eval() needed."""
    stack = []
    for tok in tokens:
        if tok in OPS:
            b, a = stack.pop(), stack.pop()
            stack.append(OPS[tok](a, b))
        else:
            stack.append(float(tok))
    return stack[-1]

for line in sys.stdin:
    if line.strip():
        print(evaluate(line.split()))
