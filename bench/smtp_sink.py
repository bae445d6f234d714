#!/usr/bin/env python3
"""A minimal SMTP sink for the benchmark: accepts every message and discards it.

Speaks just enough SMTP for lettre's pooled client (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP,
QUIT; no TLS, no AUTH). Standard library only (asyncio), so it runs on any Python 3.8+.

    smtp_sink.py PORT COUNT_FILE

Writes the number of messages accepted so far to COUNT_FILE (at most every 0.5 s, and on exit).
"""

import asyncio
import signal
import sys
import time

accepted = 0
_last_write = 0.0


def write_count(path, force=False):
    global _last_write
    now = time.monotonic()
    if force or now - _last_write >= 0.5:
        _last_write = now
        with open(path, "w") as f:
            f.write(f"{accepted}\n")


async def serve(reader, writer, count_file):
    global accepted
    writer.write(b"220 warden-bench-sink ESMTP\r\n")
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            verb = line[:4].upper()
            if verb == b"EHLO":
                writer.write(b"250-warden-bench-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
            elif verb == b"DATA":
                writer.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                await writer.drain()
                while True:
                    data = await reader.readline()
                    if not data or data == b".\r\n":
                        break
                accepted += 1
                write_count(count_file)
                writer.write(b"250 OK queued\r\n")
            elif verb == b"QUIT":
                writer.write(b"221 Bye\r\n")
                break
            else:  # HELO, MAIL, RCPT, RSET, NOOP
                writer.write(b"250 OK\r\n")
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def main():
    port, count_file = int(sys.argv[1]), sys.argv[2]
    write_count(count_file, force=True)
    server = await asyncio.start_server(
        lambda r, w: serve(r, w, count_file), "127.0.0.1", port
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()
    write_count(count_file, force=True)


if __name__ == "__main__":
    asyncio.run(main())
