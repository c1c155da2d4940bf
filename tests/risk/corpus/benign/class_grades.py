import sys

def letter(score):
    for cutoff, grade in ((90, "A"), (80, "B"), (70, "C"), (60, "D")):
        if score >= cutoff:
            return grade
    return "F"

students = {}
for line in sys.stdin:
    name, *scores = line.split()
    if scores:
        students[name] = sum(map(int, scores)) / len(scores)
for name, avg in sorted(students.items(), key=lambda kv: -kv[1]):
    print(f"{name:<10}{avg:6.1f} {letter(avg)}")
