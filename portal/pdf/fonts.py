"""Shrink the CJK fonts WeasyPrint embeds, without changing a single drawn glyph.

WeasyPrint subsets fonts with HarfBuzz but keeps glyph ids ("retain GIDs"), so an embedded
Noto CJK subset still carries ~60 000 empty glyph slots: about 70 KB per font after
compression, whatever the text. Noto CJK is a CID-keyed CFF font whose CIDs equal its glyph
ids, and PDF addresses CIDFontType0 glyphs by CID. So we can drop the empty slots and embed
the bare CFF (FontFile3 /CIDFontType0C, the form Acrobat itself writes): the charset keeps
each remaining glyph's CID, so the content streams stay valid as they are.

The CFF is rewritten here directly (Adobe TN 5176) rather than with fontTools, which parses
all 60 000 charset and index entries and costs ~0.15 s per font; this touches only the kept
glyphs. Charstrings, subroutines and dictionaries are copied byte for byte. Any font that
does not match this pattern exactly is left as WeasyPrint wrote it.
"""

from __future__ import annotations

import logging
import re
import struct
from dataclasses import dataclass
from typing import Any

import pydyf

log = logging.getLogger(__name__)

_REFERENCE = re.compile(rb"^(\d+) 0 R$")

# DICT operators (two-byte ones as 1200 + second byte).
_CHARSET, _ENCODING, _CHARSTRINGS, _PRIVATE, _SUBRS = 15, 16, 17, 18, 19
_ROS, _FDARRAY, _FDSELECT = 1230, 1236, 1237
_OFFSET_OPS = {_CHARSET, _CHARSTRINGS, _FDARRAY, _FDSELECT}


class CffError(ValueError):
    """The font program is not a CFF we know how to compact."""


# -- PDF side --------------------------------------------------------------------------------
def _resolve(pdf: pydyf.PDF, reference: Any) -> Any:
    raw = reference if isinstance(reference, bytes) else str(reference).encode()
    match = _REFERENCE.match(raw)
    return pdf.objects[int(match[1])] if match else None


def _used_glyphs(cid_font: pydyf.Dictionary) -> set[int]:
    """Glyph ids a CIDFont draws, read from its /W array ([first [w1 w2 …] first [...] …])."""
    widths, used = cid_font.get("W") or [], set()
    for i in range(0, len(widths) - 1, 2):
        used.update(range(int(widths[i]), int(widths[i]) + len(widths[i + 1])))
    return used


def compact_cid_fonts(document: Any, pdf: pydyf.PDF) -> None:
    """WeasyPrint finisher: replace each retained-GID CID font program by a compact bare CFF."""
    used_by_stream: dict[int, set[int]] = {}
    for obj in pdf.objects:
        if isinstance(obj, pydyf.Dictionary) and obj.get("Subtype") == "/CIDFontType0":
            descriptor = _resolve(pdf, obj.get("FontDescriptor", b""))
            stream = _resolve(pdf, descriptor.get("FontFile3", b"")) if descriptor is not None else None
            if isinstance(stream, pydyf.Stream):
                used_by_stream.setdefault(stream.number, set()).update(_used_glyphs(obj))
    for number, used in used_by_stream.items():
        stream = pdf.objects[number]
        if stream.extra.get("Subtype") != "/OpenType":
            continue
        try:
            cff = compact_cff(_sfnt_table(b"".join(stream.stream), b"CFF "), used)
        except (CffError, struct.error, IndexError, KeyError, ValueError):
            # A font we do not understand stays as WeasyPrint wrote it: larger, still correct.
            log.warning("embedded font %s left uncompacted", number, exc_info=True)
            continue
        stream.stream = [cff]
        stream.extra["Subtype"] = "/CIDFontType0C"


def _sfnt_table(font: bytes, tag: bytes) -> bytes:
    """One table of an OpenType font file."""
    (count,) = struct.unpack_from(">H", font, 4)
    for i in range(count):
        entry_tag, _checksum, offset, length = struct.unpack_from(">4sIII", font, 12 + 16 * i)
        if entry_tag == tag:
            return font[offset:offset + length]
    raise CffError(f"no {tag!r} table")


# -- CFF reading -----------------------------------------------------------------------------
def _read_index(data: bytes, pos: int) -> tuple[list[tuple[int, int]], int]:
    """Spans (start, end) of an INDEX's items, and the position after it."""
    (count,) = struct.unpack_from(">H", data, pos)
    if count == 0:
        return [], pos + 2
    off_size = data[pos + 2]
    offsets_at = pos + 3
    base = offsets_at + (count + 1) * off_size - 1
    offsets = [_read_offset(data, offsets_at + i * off_size, off_size) for i in range(count + 1)]
    return [(base + offsets[i], base + offsets[i + 1]) for i in range(count)], base + offsets[count]


def _read_offset(data: bytes, pos: int, size: int) -> int:
    return int.from_bytes(data[pos:pos + size], "big")


def _index_item(data: bytes, pos: int, i: int) -> bytes:
    """Item i of the INDEX at pos, reading only its two offsets (random access)."""
    (count,) = struct.unpack_from(">H", data, pos)
    if not 0 <= i < count:
        raise CffError("index out of range")
    off_size = data[pos + 2]
    offsets_at = pos + 3
    base = offsets_at + (count + 1) * off_size - 1
    start = _read_offset(data, offsets_at + i * off_size, off_size)
    end = _read_offset(data, offsets_at + (i + 1) * off_size, off_size)
    return data[base + start:base + end]


@dataclass
class _Entry:
    op: int
    operands: list[int | float]
    raw: bytes  # the operands as encoded, reused verbatim for operators we do not rewrite


def _parse_dict(data: bytes) -> list[_Entry]:
    entries: list[_Entry] = []
    operands: list[int | float] = []
    start = pos = 0
    while pos < len(data):
        b0 = data[pos]
        if b0 <= 21:
            op = 1200 + data[pos + 1] if b0 == 12 else b0
            entries.append(_Entry(op, operands, data[start:pos]))
            pos += 2 if b0 == 12 else 1
            operands, start = [], pos
        elif b0 == 28:
            operands.append(struct.unpack_from(">h", data, pos + 1)[0])
            pos += 3
        elif b0 == 29:
            operands.append(struct.unpack_from(">i", data, pos + 1)[0])
            pos += 5
        elif b0 == 30:  # real number: nibbles up to a 0xF terminator; value not needed
            pos += 1
            while data[pos] & 0x0F != 0x0F and data[pos] >> 4 != 0x0F:
                pos += 1
            pos += 1
            operands.append(0.0)
        elif 32 <= b0 <= 246:
            operands.append(b0 - 139)
            pos += 1
        elif 247 <= b0 <= 250:
            operands.append((b0 - 247) * 256 + data[pos + 1] + 108)
            pos += 2
        elif 251 <= b0 <= 254:
            operands.append(-(b0 - 251) * 256 - data[pos + 1] - 108)
            pos += 2
        else:
            raise CffError(f"bad DICT byte {b0}")
    return entries


def _value(entries: list[_Entry], op: int) -> list[int | float] | None:
    return next((e.operands for e in entries if e.op == op), None)


def _charset_cids(data: bytes, pos: int, glyphs: list[int], n_glyphs: int) -> list[int]:
    """CIDs of the given glyph ids (sorted, all > 0), reading only what is needed."""
    fmt = data[pos]
    if fmt == 0:
        return [struct.unpack_from(">H", data, pos + 1 + 2 * (g - 1))[0] for g in glyphs]
    if fmt not in (1, 2):
        raise CffError(f"charset format {fmt}")
    left_size = 1 if fmt == 1 else 2
    out, gid, p, wanted = [], 1, pos + 1, iter(glyphs)
    target = next(wanted, None)
    while target is not None and gid < n_glyphs:
        (first,) = struct.unpack_from(">H", data, p)
        n_left = _read_offset(data, p + 2, left_size)
        p += 2 + left_size
        while target is not None and target <= gid + n_left:
            out.append(first + target - gid)
            target = next(wanted, None)
        gid += n_left + 1
    if target is not None:
        raise CffError("glyph beyond charset")
    return out


def _fd_select(data: bytes, pos: int, glyphs: list[int]) -> list[int]:
    """Font DICT index of each of the given glyph ids (sorted)."""
    fmt = data[pos]
    if fmt == 0:
        return [data[pos + 1 + g] for g in glyphs]
    if fmt != 3:
        raise CffError(f"FDSelect format {fmt}")
    (n_ranges,) = struct.unpack_from(">H", data, pos + 1)
    ranges = [struct.unpack_from(">HB", data, pos + 3 + 3 * i) for i in range(n_ranges)]
    (sentinel,) = struct.unpack_from(">H", data, pos + 3 + 3 * n_ranges)
    out, r = [], 0
    for g in glyphs:
        if g >= sentinel:
            raise CffError("glyph beyond FDSelect")
        while r + 1 < n_ranges and ranges[r + 1][0] <= g:
            r += 1
        out.append(ranges[r][1])
    return out


# -- CFF writing -----------------------------------------------------------------------------
def _int29(value: int) -> bytes:
    # Fixed 5-byte form: a DICT's size does not depend on the offsets it holds.
    return b"\x1d" + struct.pack(">i", value)


def _op_bytes(op: int) -> bytes:
    return bytes((12, op - 1200)) if op >= 1200 else bytes((op,))


def _build_dict(entries: list[_Entry], replace: dict[int, list[int]]) -> bytes:
    out = bytearray()
    for e in entries:
        out += b"".join(_int29(v) for v in replace[e.op]) if e.op in replace else e.raw
        out += _op_bytes(e.op)
    return bytes(out)


def _build_index(items: list[bytes]) -> bytes:
    if not items:
        return b"\x00\x00"
    offsets = [1]
    for item in items:
        offsets.append(offsets[-1] + len(item))
    off_size = next(n for n in (1, 2, 3, 4) if offsets[-1] < 1 << (8 * n))
    head = struct.pack(">HB", len(items), off_size)
    return head + b"".join(o.to_bytes(off_size, "big") for o in offsets) + b"".join(items)


def compact_cff(cff: bytes, used: set[int]) -> bytes:
    """A CID-keyed CFF holding .notdef and the `used` glyphs, with their CIDs; CffError if not applicable."""
    header_size = cff[2]
    name_spans, names_end = _read_index(cff, header_size)
    top_spans, pos = _read_index(cff, names_end)
    if len(top_spans) != 1 or len(name_spans) != 1:
        raise CffError("expected exactly one font")
    strings_start = pos
    _, gsubrs_start = _read_index(cff, strings_start)
    _, gsubrs_end = _read_index(cff, gsubrs_start)
    top = _parse_dict(cff[slice(*top_spans[0])])
    if _value(top, _ROS) is None:
        raise CffError("not CID-keyed")  # glyphs would be addressed by GID, which must not change
    if _value(top, _ENCODING) is not None or _value(top, _PRIVATE) is not None:
        raise CffError("unexpected Encoding/Private in a CID font")
    charstrings_at, charset_at, fdselect_at, fdarray_at = (
        int((_value(top, op) or [-1])[0]) for op in (_CHARSTRINGS, _CHARSET, _FDSELECT, _FDARRAY))
    if min(charstrings_at, charset_at, fdselect_at, fdarray_at) <= 0:
        raise CffError("missing CID font structures")
    (n_glyphs,) = struct.unpack_from(">H", cff, charstrings_at)
    keep = sorted(g for g in used if 0 < g < n_glyphs)
    # Content streams use the original glyph ids as CIDs: only valid where CID == GID.
    if _charset_cids(cff, charset_at, keep, n_glyphs) != keep:
        raise CffError("CIDs differ from glyph ids")
    glyphs = [0, *keep]
    charstrings = [_index_item(cff, charstrings_at, g) for g in glyphs]
    fds = _fd_select(cff, fdselect_at, glyphs)

    font_dict_spans, _ = _read_index(cff, fdarray_at)
    font_dicts = [_parse_dict(cff[slice(*span)]) for span in font_dict_spans]
    if max(fds) >= len(font_dicts):
        raise CffError("FDSelect refers to a missing font DICT")
    privates: list[tuple[list[_Entry], bytes]] = []  # (Private DICT entries, local Subrs INDEX bytes)
    for fd in font_dicts:
        size, offset = (int(v) for v in (_value(fd, _PRIVATE) or [0, 0]))
        private = _parse_dict(cff[offset:offset + size])
        subrs = _value(private, _SUBRS)
        local = b""
        if subrs is not None:
            _, end = _read_index(cff, offset + int(subrs[0]))
            local = cff[offset + int(subrs[0]):end]
        privates.append((private, local))

    # Layout: header, Name, Top DICT, String, GSubrs, charset, FDSelect, CharStrings, FDArray, Privates.
    head = bytes((cff[0], cff[1], 4, 4))
    names = cff[header_size:names_end]
    strings_and_gsubrs = cff[strings_start:gsubrs_end]
    charset = b"\x00" + b"".join(struct.pack(">H", g) for g in keep)
    fdselect = b"\x00" + bytes(fds)
    charstrings_index = _build_index(charstrings)
    placeholder = {op: [0] for op in _OFFSET_OPS}
    top_len = len(_build_index([_build_dict(top, placeholder)]))
    charset_at = len(head) + len(names) + top_len + len(strings_and_gsubrs)
    fdselect_at = charset_at + len(charset)
    charstrings_at = fdselect_at + len(fdselect)
    fdarray_at = charstrings_at + len(charstrings_index)

    private_blobs = []
    for private, local in privates:
        replace = {_SUBRS: [0]} if local else {}
        size = len(_build_dict(private, replace))
        if local:
            replace = {_SUBRS: [size]}  # Subrs offset is relative to the Private DICT
        private_blobs.append(_build_dict(private, replace) + local)
    fd_placeholder = [_build_dict(fd, {_PRIVATE: [0, 0]}) for fd in font_dicts]
    private_at = fdarray_at + len(_build_index(fd_placeholder))
    fd_items = []
    for fd, (_private, local), blob in zip(font_dicts, privates, private_blobs, strict=True):
        private_size = len(blob) - len(local)
        fd_items.append(_build_dict(fd, {_PRIVATE: [private_size, private_at]}))
        private_at += len(blob)
    top_dict = _build_dict(top, {_CHARSET: [charset_at], _CHARSTRINGS: [charstrings_at], _FDARRAY: [fdarray_at],
                                 _FDSELECT: [fdselect_at]})
    return b"".join((head, names, _build_index([top_dict]), strings_and_gsubrs, charset, fdselect, charstrings_index,
                     _build_index(fd_items), *private_blobs))
