"""A reading process: ``python -m spiders.reading_process`` reads product pages for a crawl on another core.

It reads calls from its standard input and answers each on its standard output, in order. A call or an answer is
a frame: its length (8 bytes, little-endian), then a pickle. A call is a list of pages ``(body, url, profile)``;
its answer is the list of what ``extract_offer`` gives for each (an ``Offer``, or the error it raised), or
``None`` when that list does not pickle (the crawl then reads the call itself). The process ends when its input
does; it loads the extraction only, no crawl, database or network code. Its other end is spiders/readers.py
(promowatch.extract itself stays pure: pages in, values out).
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
from contextlib import suppress
from queue import SimpleQueue
from threading import Thread
from typing import BinaryIO

from promowatch.config import SiteProfile
from promowatch.domain import Offer
from promowatch.extract.offer import extract_offer

LENGTH = 8  # bytes of a frame's length

Page = tuple[bytes, str, SiteProfile | None]


def frame(value: object) -> bytes:
    """``value`` pickled, behind its length."""
    data = pickle.dumps(value, protocol=5)
    return len(data).to_bytes(LENGTH, "little") + data


def read_pages(pages: list[Page]) -> list[Offer | Exception]:
    """``extract_offer`` of each page; a page that cannot be read gives its error, as reading it in the crawl's
    own process would raise it, and costs no other page of the call."""
    offers: list[Offer | Exception] = []
    for body, url, profile in pages:
        try:
            offers.append(extract_offer(body, url, profile))
        except Exception as error:
            offers.append(error)
    return offers


def answer(calls: BinaryIO, answers: BinaryIO) -> None:
    """Answer each call on ``calls`` until it ends."""
    # The calls are taken off the pipe as they come, while pages are read: a call can be larger than the pipe
    # holds (16 pages of 400 kB), and the crawl's event loop would otherwise write the rest of it only as the
    # pipe empties, a piece per turn of its loop, while this process waits for it.
    received: SimpleQueue[bytes | None] = SimpleQueue()
    Thread(target=receive, args=(calls, received), name="receive", daemon=True).start()
    while (call := received.get()) is not None:
        offers = read_pages(pickle.loads(call))
        try:
            reply = frame(offers)
        except Exception:  # an error that does not pickle: the crawl reads the call itself
            reply = frame(None)
        answers.write(reply)
        answers.flush()


def receive(calls: BinaryIO, received: SimpleQueue[bytes | None]) -> None:
    """Each call on ``calls``, whole, then None when it ends."""
    while len(head := calls.read(LENGTH)) == LENGTH:
        length = int.from_bytes(head, "little")
        if len(call := calls.read(length)) < length:  # the crawl ended while it wrote this call
            break
        received.put(call)
    received.put(None)


def main() -> None:
    # Ctrl+C goes to the whole process group, but only the crawl decides how to stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # the answers keep the standard output to themselves: a library that prints would break a frame
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    with suppress(BrokenPipeError), answers:  # the crawl is gone: nobody waits for the answer
        answer(sys.stdin.buffer, answers)


if __name__ == "__main__":
    main()
