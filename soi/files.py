"""Writing files so that a reader never sees a half-written one."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO

# Random bytes in a temporary file name, enough that two writers never collide.
TEMPORARY_NAME_BYTES = 8


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str]) -> Iterator[IO[bytes]]:
    """Open a temporary file next to ``path`` and move it onto ``path`` on success.

    The temporary name starts with a dot and ends in ``.tmp``, so that globs such as
    ``*.parquet`` or ``dynamics_epoch_*.jsonl`` skip it. On any exception, including
    KeyboardInterrupt, the temporary file is removed and ``path`` keeps its previous content.

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "record.txt"
    >>> with atomic_file(target) as file:
    ...     _ = file.write(b"done")
    >>> target.read_bytes()
    b'done'
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(TEMPORARY_NAME_BYTES)}.tmp")
    try:
        with open(temporary, "xb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
