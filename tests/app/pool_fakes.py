"""Fake trainings for tests/app/test_pool.py that a worker process can import: this module imports nothing heavy,
so a fresh worker starts in a blink."""
import os


class Value:
    """A fake training's live value."""

    def __init__(self, steps_done):
        self.steps_done = steps_done


def count(n):
    """A training of ``n`` values."""
    for i in range(1, n + 1):
        yield Value(i)


def forever(marker):
    """A training that never ends by itself; writes ``marker`` when closed."""
    step = 0
    try:
        while True:
            step += 1
            yield Value(step)
    finally:
        with open(marker, "w") as f:
            f.write(str(step))


def crash():
    """The worker process dies after the first value (as if killed, or out of memory)."""
    yield Value(1)
    os._exit(3)


def _refuse():
    raise ValueError("this value does not load in the server")


class Unloadable:
    """Pickles in the worker, fails to unpickle in the server."""

    steps_done = 1

    def __reduce__(self):
        return _refuse, ()


def unloadable():
    yield Unloadable()
    yield from count(5)
