"""What every runner (and the pipeline holding them) shares: ``close()`` and the context manager
calling it."""

from __future__ import annotations


class Lifecycle:
    """``close()`` releases what ``__init__`` took (sessions, GPU memory); safe to call twice."""

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
