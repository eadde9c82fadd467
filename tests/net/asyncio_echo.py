# An asyncio echo server and 200 concurrent clients over loopback TCP.
import asyncio


async def handle(reader, writer):
    while True:
        data = await reader.read(4096)
        if not data:
            break
        writer.write(data)
        await writer.drain()
    writer.close()


async def client(port, i):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    msg = f"client {i}\n".encode() * 50
    writer.write(msg)
    await writer.drain()
    got = await reader.readexactly(len(msg))
    writer.close()
    await writer.wait_closed()
    return got == msg


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=256)
    port = server.sockets[0].getsockname()[1]
    results = await asyncio.gather(*(client(port, i) for i in range(200)))
    print("echoed", sum(results), "of", len(results))
    server.close()
    await server.wait_closed()


asyncio.run(main())
