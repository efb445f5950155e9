"""Alignment arithmetic shared by the layouts that pad to a boundary (ELF notes, HAB CSF)."""

from __future__ import annotations


def align_up(n: int, alignment: int) -> int:
    """``n`` rounded up to the next multiple of ``alignment`` (both in bytes, ``alignment`` > 0).

    ``align_up(5, 4) == 8``, ``align_up(8, 4) == 8``; ELF note names and descriptors
    (gABI "Note Section") and HAB CSF blobs are padded with it to 4-byte words.
    """
    return -(-n // alignment) * alignment
