import csv
rows = [("name", "score"), ("ana", 9), ("ben", 7)]
with open("scores.csv", "w", newline="") as f:
    csv.writer(f).writerows(rows)
print(open("scores.csv").read())
