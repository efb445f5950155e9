"""CRCs of any Rocksoft/Williams model, with the reveng catalogue of named models.

One model-driven engine serves every CRC (width 1..64, any polynomial, reflected or not),
as in R. Williams, "A Painless Guide to CRC Error Detection Algorithms" (1993), with the
parameters, check and residue values of Greg Ewing's reveng "Catalogue of parametrised
CRC algorithms". The C core (:mod:`formats._accel`) picks the fastest tier the CPU
supports (VPCLMULQDQ/AVX-512 or PCLMULQDQ folding, else slice-by-16 tables); a
pure-Python twin (:mod:`formats._crc_py`) gives identical results. The catalogue is the
data file ``formats/crc_catalogue.txt`` (reveng model lines with ``alias="..."``
fields), read on the first :func:`get` or :func:`models`.

Typical use::

    from formats import crc
    m = crc.get("CRC-32/MPEG-2")           # by name or alias, case-insensitive
    value = m.compute(image)               # one shot, bytes-like input, zero copy
    h = m.new(); h.update(part1); h.update(part2); h.crcvalue
    whole = m.combine(crc_a, crc_b, len(b))            # O(log len(b))
    padded = m.repeat(0xFF, pad_len, value)            # CRC over padding, nothing read
    image += m.digest_bytes(value)                     # append in the model's byte order

Environment:
    ``IMGTOOL_PURE_PYTHON=1`` forces the pure-Python twin.
    ``IMGTOOL_CRC_TIER=python|bitwise|slice16|clmul|vpclmul`` forces one tier (for tests
    and bug reports); :func:`available_tiers` lists what this machine can run.
"""

from __future__ import annotations

import os
import re

from formats._native import accel as _accel  # None: the pure-Python twin is used
from formats.errors import FormatError

__all__ = [
    "CrcModel",
    "Crc",
    "get",
    "get_model",
    "models",
    "crc",
    "new",
    "combine",
    "repeat",
    "word_swapped",
    "available_tiers",
    "default_tier",
    "CHECK_INPUT",
]

#: The input over which the catalogue's ``check`` values are defined.
CHECK_INPUT = b"123456789"

_TIERS = ("python", "bitwise", "slice16", "clmul", "vpclmul")




def available_tiers() -> list[str]:
    """Return the CRC tiers this process can run, slowest first.

    ``"python"`` (the pure twin) is always present; ``"bitwise"`` and ``"slice16"`` when
    the C core is built; ``"clmul"`` (PCLMULQDQ) and ``"vpclmul"`` (VPCLMULQDQ with
    AVX-512F/BW/VL) when the CPU has them.
    """
    tiers = ["python"]
    if _accel is not None:
        tiers += _accel.cpu_tiers()
    return tiers


def default_tier() -> str:
    """Return the tier new models use: the forced one (environment) or the fastest."""
    forced = os.environ.get("IMGTOOL_CRC_TIER")
    if os.environ.get("IMGTOOL_PURE_PYTHON") == "1":
        return "python"
    if forced:
        return forced
    return available_tiers()[-1]


_engines: dict = {}


def _engine(params: tuple, tier: str | None):
    """Return the (cached) engine for ``params`` = (width, poly, init, refin, refout, xorout)."""
    tier = tier or default_tier()
    key = (params, tier)
    eng = _engines.get(key)
    if eng is None:
        if tier not in _TIERS:
            raise FormatError(f"unknown CRC tier '{tier}' (expected one of {', '.join(_TIERS)})")
        if tier == "python":
            from formats._crc_py import PyCrcEngine

            eng = PyCrcEngine(*params)
        elif _accel is None:
            raise FormatError(f"CRC tier '{tier}' needs the C extension formats._accel, which is not available")
        else:
            try:
                eng = _accel.CrcEngine(*params, tier)
            except ValueError as exc:
                raise FormatError(str(exc)) from None
        _engines[key] = eng
    return eng


def _norm(name: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", name.upper())


class CrcModel:
    """One CRC algorithm, by the Rocksoft/Williams parameters plus reveng's extras.

    Args:
        width: register width in bits, 1..64.
        poly: generator polynomial in normal (MSB-first) form without the x**width term,
            e.g. ``0x04C11DB7``.
        init: initial register value, unreflected (as the reveng catalogue gives it).
        refin: input bytes are processed least significant bit first.
        refout: the final register is reflected before ``xorout`` (defaults to ``refin``).
        xorout: value XORed into the final register.
        check: CRC of ``b"123456789"``; computed when ``None``, verified when given.
        residue: register after an error-free codeword, before ``xorout`` (and reflected
            when ``refout``); computed when ``None``, verified when given.
        name: catalogue name such as ``"CRC-32/ISO-HDLC"``; a reveng-style description is
            used when ``None``.
        aliases: other names the model is known by.
        tier: implementation tier (see :func:`available_tiers`); ``None`` = the default.

    Raises:
        FormatError: width outside 1..64, a parameter that does not fit in ``width`` bits,
            or a ``check``/``residue`` that the parameters do not produce.

    Attributes (read-only): the parameters above, ``digest_size`` (bytes), ``byteorder``
    (``"little"`` when ``refout``, else ``"big"``: the order that appends the CRC so that
    the codeword's CRC register equals ``residue``) and ``tier``.

    ``model.compute(data, value=None) -> int`` is the engine's C function itself (no
    Python frame per call): the CRC of the bytes-like ``data`` (bytes, bytearray,
    memoryview, mmap, array; zero copy; ``str`` raises TypeError, a non-contiguous view
    BufferError); with ``value``, it continues from that earlier CRC value, so
    ``compute(b, compute(a)) == compute(a + b)``. The GIL is released for inputs of 16 KiB
    and more; mutating the buffer from another thread meanwhile gives an undefined value.
    """

    __slots__ = (
        "width", "poly", "init", "refin", "refout", "xorout", "check", "residue",
        "name", "aliases", "_tier", "_engine", "compute",
    )

    def __init__(
        self,
        width: int,
        poly: int,
        init: int = 0,
        refin: bool = False,
        refout: bool | None = None,
        xorout: int = 0,
        check: int | None = None,
        residue: int | None = None,
        name: str | None = None,
        aliases=(),
        *,
        tier: str | None = None,
        _verify: bool = True,
    ) -> None:
        if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= 64:
            raise FormatError(f"CRC width must be 1..64, got {width!r}")
        mask = (1 << width) - 1
        for fname, v in (("poly", poly), ("init", init), ("xorout", xorout)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0 or v > mask:
                shown = f"0x{v:x}" if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else repr(v)
                raise FormatError(f"{fname} {shown} does not fit in a {width}-bit CRC (expected 0..0x{mask:x})")
        refout = refin if refout is None else refout
        setattr_ = object.__setattr__
        setattr_(self, "width", width)
        setattr_(self, "poly", poly)
        setattr_(self, "init", init)
        setattr_(self, "refin", bool(refin))
        setattr_(self, "refout", bool(refout))
        setattr_(self, "xorout", xorout)
        setattr_(self, "name", name)
        setattr_(self, "aliases", tuple(aliases))
        setattr_(self, "_tier", tier)
        computed_residue = self._residue() if residue is None or _verify else residue
        if residue is not None and _verify and residue != computed_residue:
            raise FormatError(
                f"residue 0x{residue:x} does not match the parameters (they give 0x{computed_residue:x})"
            )
        setattr_(self, "residue", computed_residue if residue is None else residue)
        if check is None:
            check = self.compute(CHECK_INPUT)
        elif _verify:
            got = self.compute(CHECK_INPUT)
            if got != check:
                raise FormatError(
                    f"check 0x{check:x} does not match the parameters (they give 0x{got:x} "
                    f"for b'123456789')"
                )
        setattr_(self, "check", check)
        if name is None:
            setattr_(self, "name", self.reveng())

    # -- engine (built on first use) ----------------------------------------------------

    def __getattr__(self, attr):
        if attr in ("compute", "_engine"):
            eng = _engine(self.params, self._tier)
            object.__setattr__(self, "_engine", eng)
            object.__setattr__(self, "compute", eng.compute)
            return object.__getattribute__(self, attr)
        raise AttributeError(f"'CrcModel' object has no attribute '{attr}'")

    def __setattr__(self, attr, value):
        raise AttributeError("CrcModel is immutable")

    def __delattr__(self, attr):
        raise AttributeError("CrcModel is immutable")

    def __reduce__(self):
        return (
            _rebuild,
            (self.params, self.check, self.residue, self.name, self.aliases, self._tier),
        )

    # -- properties ---------------------------------------------------------------------

    @property
    def params(self) -> tuple:
        """``(width, poly, init, refin, refout, xorout)``: the model's identity."""
        return (self.width, self.poly, self.init, self.refin, self.refout, self.xorout)

    @property
    def digest_size(self) -> int:
        """Size of the CRC in whole bytes: ``ceil(width / 8)``."""
        return (self.width + 7) // 8

    @property
    def byteorder(self) -> str:
        """``"little"`` when ``refout``, else ``"big"``: the conventional order in which
        the CRC is appended to the data it covers (zlib/Ethernet little-endian, MPEG-2
        and XMODEM big-endian)."""
        return "little" if self.refout else "big"

    @property
    def tier(self) -> str:
        """The implementation tier this model's engine runs (``"vpclmul"``, ...)."""
        return self._engine.tier

    def using(self, tier: str | None) -> "CrcModel":
        """Return the same model running on ``tier`` (see :func:`available_tiers`).

        Raises:
            FormatError: the tier is unknown or not supported here (on first use).
        """
        return CrcModel(
            *self.params, check=self.check, residue=self.residue, name=self.name,
            aliases=self.aliases, tier=tier, _verify=False,
        )

    def _residue(self) -> int:
        # register after a codeword M + CRC(M): xorout * x**width mod G (refout: reflected)
        r = self.xorout
        top = 1 << (self.width - 1)
        mask = (1 << self.width) - 1
        for _ in range(self.width):
            r = ((r << 1) & mask) ^ (self.poly if r & top else 0)
        if self.refout:
            r = int(format(r, f"0{self.width}b")[::-1], 2)
        return r

    # -- operations ---------------------------------------------------------------------

    def compute_blocks(self, data, block_size: int) -> list[int]:
        """CRC of each consecutive ``block_size``-byte block of ``data`` (per-sector or
        per-record CRCs in one call; the last block may be shorter).

        Raises:
            ValueError: ``block_size`` is not positive.
        """
        return self._engine.compute_blocks(data, block_size)

    def new(self, data=b"") -> "Crc":
        """Return a hashlib-style :class:`Crc` object, optionally fed ``data``."""
        return Crc(self, data)

    def combine(self, crc1: int, crc2: int, len2: int) -> int:
        """CRC of A+B from ``crc1`` = CRC(A), ``crc2`` = CRC(B) and ``len2`` = len(B) in
        bytes, without the data, in O(log len2) (multiplication by x**(8*len2) mod G).

        Raises:
            ValueError: a CRC value does not fit in ``width`` bits, or ``len2`` < 0.
        """
        return self._engine.combine(crc1, crc2, len2)

    def repeat(self, byte: int, count: int, value: int | None = None) -> int:
        """CRC of ``count`` copies of ``byte`` (e.g. 0xFF flash padding), continuing from
        ``value`` (an earlier CRC) when given, in O(log count) without touching memory.

        Raises:
            ValueError: ``byte`` outside 0..255, ``count`` < 0 or ``value`` too wide.
        """
        return self._engine.repeat(byte, count, value)

    def digest_bytes(self, value: int, byteorder: str | None = None) -> bytes:
        """The CRC ``value`` as ``digest_size`` bytes, to append to an image.

        Args:
            value: a CRC of this model.
            byteorder: ``"little"`` or ``"big"``; ``None`` uses :attr:`byteorder`.

        Raises:
            ValueError: ``value`` does not fit in ``width`` bits or a bad byteorder.
        """
        if not isinstance(value, int) or value < 0 or value >> self.width:
            raise ValueError(f"CRC value {value!r} does not fit in {self.width} bits")
        order = byteorder or self.byteorder
        if order not in ("little", "big"):
            raise ValueError(f"byteorder must be 'little' or 'big', got {byteorder!r}")
        return value.to_bytes(self.digest_size, order)

    # -- text forms ---------------------------------------------------------------------

    def reveng(self) -> str:
        """The model as a reveng catalogue line (``width=32 poly=0x04c11db7 ...``)."""
        hexw = (self.width + 3) // 4
        parts = [
            f"width={self.width}",
            f"poly=0x{self.poly:0{hexw}x}",
            f"init=0x{self.init:0{hexw}x}",
            f"refin={'true' if self.refin else 'false'}",
            f"refout={'true' if self.refout else 'false'}",
            f"xorout=0x{self.xorout:0{hexw}x}",
        ]
        if getattr(self, "check", None) is not None:
            parts.append(f"check=0x{self.check:0{hexw}x}")
            parts.append(f"residue=0x{self.residue:0{hexw}x}")
        if getattr(self, "name", None) and not self.name.startswith("width="):
            parts.append(f'name="{self.name}"')
        return " ".join(parts)

    @classmethod
    def from_reveng(cls, text: str, *, tier: str | None = None, _verify: bool = True) -> "CrcModel":
        """Parse a reveng catalogue line such as ``width=16 poly=0x1021 init=0x0000
        refin=false refout=false xorout=0x0000 check=0x31c3 residue=0x0000
        name="CRC-16/XMODEM"`` (the format ``reveng -D`` prints). Any number of
        ``alias="..."`` fields give the model's other names (the catalogue file
        ``formats/crc_catalogue.txt`` uses them).

        Raises:
            FormatError: a missing or malformed field, or a check/residue mismatch.
        """
        pairs = re.findall(r'(\w+)=("[^"]*"|\S+)', text)
        fields = dict(pairs)
        try:
            width = int(fields["width"], 0)
            kw = {
                "poly": int(fields["poly"], 0),
                "init": int(fields.get("init", "0"), 0),
                "refin": fields.get("refin", "false").lower() == "true",
                "refout": fields.get("refout", fields.get("refin", "false")).lower() == "true",
                "xorout": int(fields.get("xorout", "0"), 0),
            }
            if "check" in fields:
                kw["check"] = int(fields["check"], 0)
            if "residue" in fields:
                kw["residue"] = int(fields["residue"], 0)
        except KeyError as exc:
            raise FormatError(f"reveng model is missing the field {exc.args[0]!r}: {text!r}") from None
        except ValueError as exc:
            raise FormatError(f"malformed reveng model {text!r}: {exc}") from None
        if "name" in fields:
            kw["name"] = fields["name"].strip('"')
        aliases = tuple(v.strip('"') for k, v in pairs if k == "alias")
        return cls(width, aliases=aliases, tier=tier, _verify=_verify, **kw)

    def __repr__(self) -> str:
        return f"CrcModel({self.reveng()})"

    def __eq__(self, other) -> bool:
        if not isinstance(other, CrcModel):
            return NotImplemented
        return self.params == other.params

    def __hash__(self) -> int:
        return hash(self.params)


def _rebuild(params, check, residue, name, aliases, tier):
    return CrcModel(*params, check=check, residue=residue, name=name, aliases=aliases,
                    tier=tier, _verify=False)


class Crc:
    """A running CRC with the hashlib interface (``update``/``digest``/``hexdigest``/
    ``copy``), so ``hashlib.file_digest(f, lambda: crc.new("CRC-32/MPEG-2"))`` works.

    Args:
        model: a :class:`CrcModel` or a catalogue name.
        data: optional first bytes-like chunk.

    Attributes:
        crcvalue: the CRC of everything fed so far (int; also ``int(obj)``).
        length: number of bytes fed so far.
        name, digest_size, model.
    """

    __slots__ = ("model", "crcvalue", "length", "_compute")

    def __init__(self, model, data=b"") -> None:
        m = get(model) if isinstance(model, str) else model
        self.model = m
        self._compute = m.compute
        self.crcvalue = m.compute(b"")
        self.length = 0
        if data:
            self.update(data)

    @property
    def name(self) -> str:
        """The model's name."""
        return self.model.name

    @property
    def digest_size(self) -> int:
        """Size of :meth:`digest` in bytes."""
        return self.model.digest_size

    @property
    def block_size(self) -> int:
        """Always 1: a CRC consumes bytes."""
        return 1

    def update(self, data) -> None:
        """Feed the bytes-like ``data`` (zero copy)."""
        self.crcvalue = self._compute(data, self.crcvalue)
        self.length += len(data) if type(data) is bytes else memoryview(data).nbytes

    def update_repeat(self, byte: int, count: int) -> None:
        """Feed ``count`` copies of ``byte`` without materialising them (O(log count))."""
        self.crcvalue = self.model.repeat(byte, count, self.crcvalue)
        self.length += count

    def digest(self) -> bytes:
        """The CRC as ``digest_size`` big-endian bytes (hashlib/crcmod convention; use
        ``model.digest_bytes(crcvalue)`` for the byte order an image appends)."""
        return self.crcvalue.to_bytes(self.digest_size, "big")

    def hexdigest(self) -> str:
        """The CRC as ``2 * digest_size`` lower-case hex digits."""
        return f"{self.crcvalue:0{2 * self.digest_size}x}"

    def copy(self) -> "Crc":
        """An independent copy of the running CRC."""
        c = Crc.__new__(Crc)
        c.model, c._compute, c.crcvalue, c.length = self.model, self._compute, self.crcvalue, self.length
        return c

    def __int__(self) -> int:
        return self.crcvalue

    def __repr__(self) -> str:
        return f"<Crc {self.name} 0x{self.hexdigest()} after {self.length} bytes>"


# -- the catalogue -----------------------------------------------------------------------
# formats/crc_catalogue.txt: the reveng catalogue (G. Ewing) as reveng model lines with
# alias="..." fields, read on first use so that importing this module stays cheap.
# Every check and residue is verified by tests/test_crc.py against all tiers.

_CATALOGUE_FILE = "crc_catalogue.txt"
_catalogue_models: list[CrcModel] | None = None
_BY_NAME: dict[str, CrcModel] = {}   # normalised name or alias -> model
_BY_EXACT: dict[str, CrcModel] = {}  # name as asked for -> model: the fast path of get()


def _catalogue() -> list[CrcModel]:
    """The catalogue models in file order, parsed on the first call."""
    global _catalogue_models
    if _catalogue_models is None:
        # this module's loader reads package data from a directory or a zip alike, without
        # the imports importlib.resources costs (pathlib, tempfile, zipfile)
        path = os.path.join(os.path.dirname(__file__), _CATALOGUE_FILE)
        text = __loader__.get_data(path).decode("utf-8")
        out = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                out.append(CrcModel.from_reveng(line, _verify=False))
            except FormatError as exc:  # a broken bundled file is our bug, not the user's input
                raise RuntimeError(f"formats/{_CATALOGUE_FILE} line {number}: {exc}") from exc
        for m in out:
            for n in (m.name, *m.aliases):
                _BY_NAME.setdefault(_norm(n), m)
            _BY_EXACT.setdefault(m.name, m)
        _catalogue_models = out
    return _catalogue_models


def models() -> list[CrcModel]:
    """Return the catalogue of named models (reveng names), in catalogue order."""
    return list(_catalogue())


def get(name) -> CrcModel:
    """Return the catalogue model called ``name`` (or one of its aliases).

    Matching ignores case and punctuation, so ``"crc32-mpeg2"``, ``"CRC-32/MPEG-2"`` and
    ``"CRC_32_MPEG_2"`` are the same. A :class:`CrcModel` is returned unchanged; a string
    starting with ``width=`` is parsed as a reveng model line.

    Raises:
        FormatError: no model has that name (the message suggests close names).
    """
    m = _BY_EXACT.get(name) if isinstance(name, str) else None
    if m is not None:
        return m
    if isinstance(name, CrcModel):
        return name
    if not isinstance(name, str):
        raise FormatError(f"a CRC model is a name or a CrcModel, not {type(name).__name__}")
    if name.strip().lower().startswith("width="):
        return CrcModel.from_reveng(name)
    catalogue = _catalogue()
    m = _BY_NAME.get(_norm(name))
    if m is not None:
        if len(_BY_EXACT) < 4096:
            _BY_EXACT[name] = m
        return m
    import difflib

    close = difflib.get_close_matches(name.upper(), [n for x in catalogue for n in (x.name, *x.aliases)], n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else " (see `imgtool crc --list`)"
    raise FormatError(f"unknown CRC model '{name}'{hint}")


#: Alias of :func:`get`.
get_model = get


def crc(model, data, value: int | None = None, *, offset: int = 0, length: int | None = None) -> int:
    """One-shot CRC of ``data[offset:offset+length]`` under ``model`` (name or model).

    Args:
        model: a catalogue name/alias or a :class:`CrcModel`.
        data: bytes-like input (read zero-copy).
        value: continue from this earlier CRC value.
        offset: first byte to include.
        length: number of bytes (default: to the end).

    Raises:
        FormatError: unknown model, or ``offset``/``length`` outside the data.
    """
    m = get(model)
    if offset == 0 and length is None:
        return m.compute(data, value)
    with memoryview(data) as outer:
        mv = outer if outer.format == "B" and outer.ndim == 1 else outer.cast("B")
        try:
            n = len(mv)
            if offset < 0 or offset > n:
                raise FormatError(f"offset {offset} is past the end of the data ({n} bytes)", offset=offset)
            if length is None:
                length = n - offset
            if length < 0 or offset + length > n:
                raise FormatError(
                    f"length {length} at offset {offset} runs past the end of the data ({n} bytes)",
                    offset=offset,
                )
            with mv[offset : offset + length] as part:
                return m.compute(part, value)
        finally:
            mv.release()


def new(model, data=b"") -> Crc:
    """Return a hashlib-style :class:`Crc` for ``model`` (name or model), fed ``data``."""
    return Crc(get(model), data)


def combine(model, crc1: int, crc2: int, len2: int) -> int:
    """``get(model).combine(crc1, crc2, len2)``: CRC(A+B) from CRC(A), CRC(B), len(B)."""
    return get(model).combine(crc1, crc2, len2)


def repeat(model, byte: int, count: int, value: int | None = None) -> int:
    """``get(model).repeat(byte, count, value)``: CRC over ``count`` copies of ``byte``."""
    return get(model).repeat(byte, count, value)


def word_swapped(data, word_size: int = 4) -> bytes:
    """Return ``data`` with the bytes of every ``word_size``-byte word reversed.

    The STM32 hardware CRC unit reads 32-bit words from little-endian memory and feeds them
    MSB first, so its result equals CRC-32/MPEG-2 over ``word_swapped(data)``.

    Raises:
        FormatError: the length is not a multiple of ``word_size``.
    """
    if word_size not in (2, 4, 8):
        raise FormatError(f"word_size must be 2, 4 or 8, got {word_size}")
    with memoryview(data) as outer, outer.cast("B") as mv:
        if len(mv) % word_size:
            raise FormatError(
                f"data length {len(mv)} is not a multiple of the {word_size}-byte word size "
                "(pad the image first)"
            )
        raw = bytes(mv)
    import array

    code = {2: "H", 4: "I", 8: "Q"}[word_size]
    if array.array(code).itemsize != word_size:  # pragma: no cover - exotic platforms
        return b"".join(raw[i : i + word_size][::-1] for i in range(0, len(raw), word_size))
    a = array.array(code)
    a.frombytes(raw)
    a.byteswap()
    return a.tobytes()
