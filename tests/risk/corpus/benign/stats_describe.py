import statistics as st
import sys

xs = [float(v) for v in sys.stdin.read().split()] or [1.0, 2.0, 2.5, 9.0]
print("n", len(xs))
print("mean", round(st.mean(xs), 3))
print("median", st.median(xs))
print("stdev", round(st.pstdev(xs), 3))
q = st.quantiles(xs, n=4) if len(xs) > 1 else xs
print("quartiles", q)
