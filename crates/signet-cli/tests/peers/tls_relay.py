"""A TLS-terminating TCP relay, for testing `signet proxy --upstream https://…`.

Usage: tls_relay.py LISTEN_PORT TARGET_PORT CERT.pem KEY.pem
Accepts TLS on 127.0.0.1:LISTEN_PORT with CERT/KEY and relays the decrypted bytes to
127.0.0.1:TARGET_PORT (a plain-HTTP MCP server), both ways, until either side closes.
Prints "ready" on stderr once listening.
"""
import asyncio
import ssl
import sys


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()


async def main(listen, target, cert, key):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)

    async def handle(client_r, client_w):
        server_r, server_w = await asyncio.open_connection("127.0.0.1", target)
        await asyncio.gather(pipe(client_r, server_w), pipe(server_r, client_w))

    server = await asyncio.start_server(handle, "127.0.0.1", listen, ssl=ctx)
    print("ready", file=sys.stderr, flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]))
