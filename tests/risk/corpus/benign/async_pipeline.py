import asyncio

async def produce(q, n):
    for i in range(n):
        await q.put(i)
        await asyncio.sleep(0)
    await q.put(None)

async def consume(q, out):
    while (item := await q.get()) is not None:
        out.append(item * item)

async def main():
    q = asyncio.Queue(maxsize=4)
    out = []
    await asyncio.gather(produce(q, 20), consume(q, out))
    print(sum(out))

asyncio.run(main())
