"""The heap's free pages given back after a burst of work (rampart.runtime.heap): blocks a
worker thread of a pool (as ``asyncio.to_thread`` runs a backup) allocated and freed between
small ones it still holds stay resident, since ``free`` can return only the top of a heap, until
``give_back`` returns them to the system. Measured in a fresh process: a test worker's heap,
after thousands of tests, has free room enough to take the burst without growing."""

from __future__ import annotations

import json
import subprocess
import sys

BLOCK = 64 * 1024  # under glibc's mmap threshold: from the thread's arena, not a mapping of its own
BLOCKS = 800  # 50 MiB
BURST = f"""
import json
from concurrent.futures import ThreadPoolExecutor
import psutil
from rampart.runtime.heap import give_back

held = []

def burst():
    blocks = []
    for _ in range({BLOCKS}):
        block = bytearray({BLOCK})
        block[::4096] = b"\\x01" * len(block[::4096])  # every page touched: resident
        blocks.append(block)
        held.append(bytearray(1024))  # kept: the freed blocks cannot merge into the top
    blocks.clear()

me = psutil.Process()
with ThreadPoolExecutor(1) as pool:  # the thread lives on, as the loop's pool threads do
    start = me.memory_info().rss
    pool.submit(burst).result()
    before = me.memory_info().rss
    gave = give_back()
    after = me.memory_info().rss
print(json.dumps([start, before, after, gave, len(held)]))
"""


def test_what_a_pool_thread_freed_between_held_blocks_goes_back_to_the_system() -> None:
    done = subprocess.run(
        [sys.executable, "-c", BURST], capture_output=True, text=True, timeout=120, check=True
    )
    start, before, after, gave, held = json.loads(done.stdout)
    assert before - start > BLOCK * BLOCKS // 2, (start, before)  # freed, still resident
    assert gave is True
    assert before - after > BLOCK * BLOCKS // 2, (before, after)
    assert held == BLOCKS
