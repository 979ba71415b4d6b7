"""A parse worker: ``python -m bot.runners.parse_worker``, started by :mod:`bot.runners.prepare`.

It reads frames from its standard input and answers each raw message on its
standard output, in order, with its :class:`Prepared`. A frame is one byte of
kind, a 4-byte big-endian length and the body: ``S`` a pickled
:class:`PrepareSettings` (used for the messages after it), ``R`` a raw message
as it is (no pickle: a 5 MB message is not copied to be sent), ``P`` a pickled
answer. End of input (the writer closed the pipe, stopped or was killed) ends
the worker: it never outlives the bot. Ctrl-C is the bot's to handle: the
worker ignores SIGINT and ends with its input.

It imports the mail modules and nothing else (no database, no chat clients),
so it costs about 45 MB with the language models, and it is a plain child
process: no fork server, no resource tracker (what ``multiprocessing`` would
add, ~40 MB more).
"""

from __future__ import annotations

import pickle
import signal
import struct
import sys
from typing import IO, Any

HEADER = struct.Struct(">cI")
SETTINGS, RAW, PREPARED = b"S", b"R", b"P"


def read_frame(stream: IO[bytes]) -> tuple[bytes, bytes]:
    """The next frame on ``stream`` as (kind, body); raises EOFError at its end."""
    head = stream.read(HEADER.size)
    if len(head) < HEADER.size:
        raise EOFError
    kind, size = HEADER.unpack(head)
    body = stream.read(size)
    if len(body) < size:
        raise EOFError
    return kind, body


def write_frame(stream: IO[bytes], kind: bytes, body: bytes) -> None:
    stream.write(HEADER.pack(kind, len(body)))
    stream.write(body)
    stream.flush()


def dumps(obj: Any) -> bytes:
    return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)


def loads(body: bytes) -> Any:
    return pickle.loads(body)  # noqa: S301 - the frames come from our own parent or child


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from bot.mail.prepare import PrepareSettings, prepare, warm_up

    source, sink = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing else may write into the frames
    settings: PrepareSettings | None = None
    warm_up()
    while True:
        try:
            kind, body = read_frame(source)
        except EOFError:
            return 0
        if kind == SETTINGS:
            settings = loads(body)
        elif kind == RAW and settings is not None:
            write_frame(sink, PREPARED, dumps(prepare(body, settings)))
        else:
            return 2  # not a frame the writer sends: stop, the writer prepares itself


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:
        sys.exit(0)
