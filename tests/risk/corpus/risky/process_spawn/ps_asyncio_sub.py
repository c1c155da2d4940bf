import asyncio

async def main():
    proc = await asyncio.create_subprocess_shell("id", stdout=asyncio.subprocess.PIPE)
    print(await proc.communicate())

asyncio.run(main())
