import threading
from queue import Queue

results = Queue()

def worker(chunk, idx):
    results.put((idx, sum(x * x for x in chunk)))

numbers = list(range(1, 100001))
size = len(numbers) // 4
threads = [threading.Thread(target=worker, args=(numbers[i * size:(i + 1) * size], i)) for i in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
total = 0
while not results.empty():
    total += results.get()[1]
print("sum of squares:", total)
