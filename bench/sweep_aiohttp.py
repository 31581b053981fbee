"""Reference for bench/sweep.sh: read every URL with aiohttp at a fixed concurrency, parse the
JSON body and compare its version, as versioncheck does. Prints "ok mismatched failed"."""
import asyncio
import sys

import aiohttp


async def main(urls, concurrency, expect):
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    timeout = aiohttp.ClientTimeout(total=5)
    semaphore = asyncio.Semaphore(concurrency)
    counts = {"ok": 0, "mismatched": 0, "failed": 0}

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        async def read(url):
            async with semaphore:
                try:
                    async with session.get(url) as response:
                        body = await response.json(content_type=None)
                        counts["ok" if str(body.get("version")) == expect else "mismatched"] += 1
                except Exception:
                    counts["failed"] += 1

        await asyncio.gather(*(read(url) for url in urls))
    print(counts["ok"], counts["mismatched"], counts["failed"])


if __name__ == "__main__":
    concurrency, expect, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    with open(path) as file:
        urls = [line.strip() for line in file if line.strip()]
    asyncio.run(main(urls, concurrency, expect))
