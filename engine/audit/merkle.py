"""A Merkle root over anchor leaves: one leaf per instance, (instance id, history seq, head hash).

Leaves and inner nodes are hashed with different prefixes (0x00, 0x01) so a leaf can never pass for
an inner node; an odd node at the end of a level is carried up unchanged.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Iterable

LEAF = struct.Struct(">QI32s")  # instance id, seq, head: 44 bytes
MAX_LEAVES_BYTES = 256 * 1024 * 1024


def leaf_bytes(instance_id: int, seq: int, head: bytes) -> bytes:
    return LEAF.pack(instance_id, seq, bytes(head).rjust(32, b"\0")[:32])


def root(leaves: Iterable[bytes]) -> bytes:
    """The root over leaves already sorted by instance id; SHA-256 of nothing for no leaves."""
    level = [hashlib.sha256(b"\0" + leaf).digest() for leaf in leaves]
    if not level:
        return hashlib.sha256(b"").digest()
    while len(level) > 1:
        paired = [hashlib.sha256(b"\1" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def pack(leaves: dict[int, tuple[int, bytes]]) -> bytes:
    """Compressed leaves, sorted by instance id."""
    return zlib.compress(b"".join(leaf_bytes(i, seq, head) for i, (seq, head) in sorted(leaves.items())), 6)


def unpack(blob: bytes) -> dict[int, tuple[int, bytes]]:
    decompressor = zlib.decompressobj()
    try:
        data = decompressor.decompress(blob, MAX_LEAVES_BYTES)
    except zlib.error as exc:
        raise ValueError(f"anchor leaves are damaged: {exc}") from exc
    if decompressor.unconsumed_tail or len(data) % LEAF.size:
        raise ValueError("anchor leaves are damaged")
    return {i: (seq, head) for i, seq, head in LEAF.iter_unpack(data)}
