"""The fuzz targets: one per parser, each a function of arbitrary bytes that may raise
only the project's errors, and the seed inputs each starts from.

Shared by the suite (``tests/test_fuzz.py``: hypothesis, small budgets, the saved
regression inputs of ``tests/corpus/``) and the long campaign (``scripts/fuzz.py``,
``make fuzz``: atheris/libFuzzer over the same seeds). A target returning normally or
raising :data:`EXPECTED` is a pass; any other exception, a hang or an allocation past the
campaign's RSS limit is a finding.

Seeds are built from the test fixtures (payloads compiled by Debian's cross gcc, a small
Go program built by the machine's Go, images, CSFs, SRK tables and certificates made by
imgtool itself from them) and cached by content like the other fixtures.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
import os
import struct
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from cortexm_helpers import cortex_m_elf
from formats.errors import FormatError
from imgtool.errors import ImgtoolError
from signing.errors import SigningError

EXPECTED = (FormatError, SigningError, ImgtoolError)
"""The exceptions a parser may raise for bad input: the project's own, one line each."""

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
"""Saved regression inputs: ``tests/corpus/<target>/<name>``, replayed by the suite."""

_TIME = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class Target:
    """A fuzz target: ``run(data)`` feeds one input to a parser (and what reads its result)."""

    name: str
    run: Callable[[bytes], object]
    doc: str


TARGETS: dict[str, Target] = {}


def target(name: str, doc: str):
    def register(fn):
        TARGETS[name] = Target(name, fn, doc)
        return fn
    return register


# --------------------------------------------------------------------------- ELF and Go
@target("elf", "formats.elf.ElfFile.parse, then symbols, notes, load images, dynamic relocations, imgtool info")
def _elf(data: bytes) -> None:
    from formats.elf import ElfFile
    from formats.loadimage import flatten, flatten_segments, section_chunks
    from formats.reloc import relocate
    from imgtool.elfinput import elf_summary

    elf = ElfFile.parse(data, source="fuzz.elf")
    elf.symbols, elf.notes, elf.gnu_build_id, elf.pvh_entry  # noqa: B018  (decoded lazily)
    loads = [s for s in elf.loads if s.memsz]
    link = min((s.vaddr for s in loads), default=0)
    align = max((s.align for s in loads), default=1) or 1
    stages = [section_chunks, flatten, flatten_segments, elf_summary]
    if loads:  # at the link base, and moved (the delta reaches the itab repair and the alignment check)
        stages += [lambda e, b=b: relocate(e, b, allow_undefined=True, skip_unsupported=True)
                   for b in (link, link + max(align, 0x10000))]
    for stage in stages:  # each on its own, so that one stage's refusal does not hide the next
        try:
            stage(elf)
        except EXPECTED:
            pass


@target("go", "formats.go: build info, then the pclntab located and validated by its moduledata, of a Go ELF")
def _go(data: bytes) -> None:
    from formats.elf import ElfFile
    from formats.go.buildinfo import parse_buildinfo
    from formats.go.moduledata import locate

    elf = ElfFile.parse(data, source="fuzz.elf")
    try:
        parse_buildinfo(elf)
    except EXPECTED:
        pass
    tables = locate(elf)  # the functions themselves: the pclntab target
    tables.pclntab.version  # noqa: B018


@target("pclntab", "formats.go.pclntab.PcLnTab.parse over a table's bytes, every function and its first file")
def _pclntab(data: bytes) -> None:
    from formats.go.pclntab import PcLnTab, first_file

    tab = PcLnTab.parse(data, address=0x100000, text_start=0x10000)
    for f in tab.funcs:
        first_file(tab, f)
    tab.extents()


@target("buildinfo", "formats.go.buildinfo.parse_buildinfo of a .go.buildinfo section")
def _buildinfo(data: bytes) -> None:
    from formats.go.buildinfo import parse_buildinfo

    info = parse_buildinfo(_OneSection(".go.buildinfo", data))
    if info is not None:
        info.to_dict()
        info.go_release  # noqa: B018


class _OneSection:
    """A :class:`formats.go.reader.BinaryReader` of one section at address 0x10000."""

    source = "fuzz"
    little_endian = True
    word_size = 8
    symbols: list = []
    notes: list = []

    def __init__(self, name: str, data: bytes) -> None:
        from types import SimpleNamespace

        self.data = data
        self.sections = [SimpleNamespace(name=name, addr=0x10000, offset=0, size=len(data), is_alloc=True,
                                         is_nobits=False, is_writable=False, is_executable=False)]

    def section(self, name):
        return next((s for s in self.sections if s.name == name), None)

    def section_data(self, sec):
        return memoryview(self.data)

    def read(self, addr, size):
        off = addr - 0x10000
        if not 0 <= off <= off + size <= len(self.data):
            raise FormatError(f"address range 0x{addr:x}+0x{size:x} is outside the section", field="address")
        return self.data[off:off + size]


# ------------------------------------------------------------------- flash file formats
@target("ihex", "formats.ihex.parse")
def _ihex(data: bytes) -> None:
    from formats import ihex

    ihex.parse(data)


@target("srec", "formats.srec.parse")
def _srec(data: bytes) -> None:
    from formats import srec

    srec.parse(data)


@target("uf2", "formats.uf2.parse")
def _uf2(data: bytes) -> None:
    from formats import uf2

    uf2.parse(data)


# ------------------------------------------------------------------------------- i.MX
@target("imx", "formats.imx.image.parse_imx (IVT, boot data, DCD), imgtool info, imx verify, CSF description")
def _imx(data: bytes) -> None:
    from formats.imx.image import parse_imx
    from imgtool.describe import _describe
    from signing.hab_verify import verify_imx

    parse_imx(data)
    verify_imx(data)
    _describe(data, "fuzz.imx")


@target("dcd", "formats.imx.dcd.Dcd.parse")
def _dcd(data: bytes) -> None:
    from formats.imx.dcd import Dcd

    Dcd.parse(data).build()


@target("imx_cfg", "formats.imx.cfg.parse_cfg (imximage.cfg text)")
def _cfg(data: bytes) -> None:
    from formats.imx.cfg import parse_cfg

    parse_cfg(data.decode("utf-8", "replace"), "fuzz.cfg")


@target("csf", "signing.hab_verify.walk_csf and describe_csf over a bare CSF")
def _csf(data: bytes) -> None:
    from signing.hab_verify import describe_csf, walk_csf

    walk_csf(data)
    describe_csf(data)


@target("srk", "formats.imx.srk.SrkTable.parse, its hash, each entry's public key")
def _srk(data: bytes) -> None:
    from formats.imx import srk
    from signing.hab_srk import public_key_of_entry

    table = srk.SrkTable.parse(data)
    srk.table_hash(data)
    for entry in table.entries:
        try:
            public_key_of_entry(entry)
        except EXPECTED:
            pass


@target("certificate", "signing.keys.parse_certificate, SRK entry, CA flag, self-signature, verify's summary")
def _certificate(data: bytes) -> None:
    from signing import hab_srk
    from signing.hab_verify import _cert_info
    from signing.keys import parse_certificate

    cert = parse_certificate(data, "fuzz.crt")
    hab_srk.is_ca_certificate(cert)
    hab_srk.certificate_signed_by(cert, cert.public_key())
    _cert_info("fuzz", cert, data)
    hab_srk.srk_entry_for_certificate(cert, "fuzz.crt")


@target("cms", "signing.cms.describe and verify of a CMS SignedData (HAB signature blobs)")
def _cms(data: bytes) -> None:
    from signing import cms

    cms.describe(data)
    cms.verify(data, b"data", _seed_certificate())


@target("hab_events", "formats.imx.habevents.parse_event_log (text and raw) and describe")
def _hab_events(data: bytes) -> None:
    from formats.imx.habevents import parse_event_log

    parse_event_log(data).describe()


# ----------------------------------------------------------------------- PE and disks
@target("pe", "formats.pe.image.parse, imgtool info's PE summary, Authenticode describe and verify")
def _pe(data: bytes) -> None:
    from formats.pe.image import parse
    from imgtool.peinfo import describe_pe
    from signing import authenticode

    parse(data)
    describe_pe(data, "fuzz.efi")
    authenticode.describe(data)
    authenticode.verify(data)


@target("mbr", "formats.mbr.parse")
def _mbr(data: bytes) -> None:
    from formats import mbr

    mbr.parse(data)


@target("gpt", "formats.gpt.parse")
def _gpt(data: bytes) -> None:
    from formats import gpt

    gpt.parse(data)


@target("fat", "formats.fat.parse and reading every file")
def _fat(data: bytes) -> None:
    from formats import fat

    vol = fat.parse(data)
    for entry in vol.walk():
        if not entry.is_dir:
            vol.read(entry.path)


@target("tar", "formats.tar.parse (plain and gzip, GNU sparse members)")
def _tar(data: bytes) -> None:
    from formats import tar

    for entry in tar.parse(data):
        entry.name  # noqa: B018


@target("boot_stubs", "formats.boot: the Pi entry stub, the BSS-zeroing stub and the BIOS boot sector parsers")
def _boot_stubs(data: bytes) -> None:
    from formats.boot import arm, bios

    for parse in (arm.parse_entry_stub, arm.parse_bss_zero_stub, bios.parse):
        try:
            parse(data)
        except EXPECTED:
            pass
    arm.identify(data)
    bios.identify(data[:512])


# ------------------------------------------------------------------------- size --diff
@target("info", "imgtool.describe.describe_file and render_text (imgtool info) on a file: every artifact kind")
def _info(data: bytes) -> None:
    import tempfile

    from imgtool.describe import describe_file, render_text

    with tempfile.NamedTemporaryFile(prefix="fuzz-info-") as f:  # through the file path: mmap, about_file
        f.write(data)
        f.flush()
        render_text(describe_file(f.name))


@target("size_diff", "imgtool.size.parse_base (a saved size --format json document) and the diff of it")
def _size_diff(data: bytes) -> None:
    from imgtool.size import parse_base
    from imgtool.size.report import _diff_text

    base = parse_base(data, "fuzz.json")
    if not _NEW_DOC:
        _NEW_DOC.append(parse_base(build_seeds("size_diff")[0], "new.json"))
    for fmt in ("text", "json"):
        _diff_text(_NEW_DOC[0], base, "fuzz", fmt, 20)


_NEW_DOC: list[dict] = []  # the document a diff compares the base with: imgtool's own


# ------------------------------------------------------------------------------ seeds
def _cache() -> Path:
    d = Path(os.environ.get("IMGTOOL_TEST_CACHE", Path.home() / ".cache" / "imgtool-tests")) / "fuzz-seeds"
    d.mkdir(parents=True, exist_ok=True)
    return d


_CERT: list = []


def _seed_certificate():
    if not _CERT:
        from signing.keys import load_certificate

        _CERT.append(load_certificate(_pki() / "CSF_1_crt.pem"))
    return _CERT[0]


def _pki(key_type: str = "rsa2048") -> Path:
    from hab_helpers import pki

    return pki(key_type)


def _tiny_go(stripped: bool = False) -> Path:
    """A small Go program (the runtime and strconv) built for GOARCH=arm, cached by content;
    ``stripped`` (``-s -w``): no symbol table, so the pclntab is found by scanning for its
    magic and validating a moduledata."""
    from conftest import build_go

    src = _cache() / "gotiny"
    src.mkdir(exist_ok=True)
    (src / "go.mod").write_text("module example.com/gotiny\n\ngo 1.26.0\n")
    (src / "main.go").write_text('package main\n\nimport "strconv"\n\nfunc main() { println(strconv.Itoa(42)) }\n')
    flags = "-T 0x80010000 -R 0x1000"
    return build_go(src, "gotiny-stripped" if stripped else "gotiny", {"GOARCH": "arm", "GOARM": "7"},
                    "-s -w " + flags if stripped else flags)


def _signed_imx() -> tuple[bytes, bytes]:
    """(an unsigned, a signed) .imx of the i.MX6UL payload, board usbarmory-mk2."""
    from formats.elf import ElfFile
    from imgtool.imxbuild import build_imx_from_elf
    from payload_helpers import build_payload
    from signing.hab import ENGINES, sign_imx
    from signing.pki import load_hab_keys

    pay = build_payload("imx6ul")
    elf = ElfFile.parse(pay.elf.read_bytes(), source=str(pay.elf))
    imx = build_imx_from_elf(elf, board_name="usbarmory-mk2").imx
    keys = load_hab_keys(_pki(), 1, None)
    return imx, sign_imx(imx, keys, engine=ENGINES["sw"], csf_size=None, signing_time=_TIME).data


def _sections(path: Path, *names: str) -> list[bytes]:
    from formats.elf import ElfFile

    elf = ElfFile.parse(path.read_bytes())
    return [bytes(elf.section_data(elf.section(n))) for n in names if elf.section(n) is not None]


@functools.lru_cache(maxsize=1)
def _seed_key() -> str:
    import hashlib
    import shutil
    import subprocess

    go = shutil.which("go")
    version = subprocess.run([go, "version"], capture_output=True, text=True).stdout if go else ""
    return hashlib.sha256(Path(__file__).read_bytes() + version.encode()).hexdigest()[:12]


def build_seeds(name: str) -> list[bytes]:
    """The seed inputs of target ``name``, built from the test fixtures; cached under a
    hash of this module (the seed builders) and of the Go toolchain's version (the
    fixtures), written atomically."""
    path = _cache() / f"{name}-{_seed_key()}.seeds"
    if path.exists():
        return _unpack(path.read_bytes())
    seeds = _SEEDS[name]()
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(_pack(seeds))
    tmp.replace(path)
    return seeds


def _pack(seeds: list[bytes]) -> bytes:
    return b"".join(struct.pack("<I", len(s)) + s for s in seeds)


def _unpack(blob: bytes) -> list[bytes]:
    out, pos = [], 0
    while pos < len(blob):
        (n,) = struct.unpack_from("<I", blob, pos)
        out.append(blob[pos + 4:pos + 4 + n])
        pos += 4 + n
    return out


def _seeds_elf() -> list[bytes]:
    from payload_helpers import build_payload
    from uefi_helpers import build_payload as uefi_payload

    out = [build_payload(m).elf.read_bytes() for m in ("imx6ul", "raspi2b", "x86")]
    work = _cache() / "uefi"
    work.mkdir(exist_ok=True)
    out += [uefi_payload(kind, work).read_bytes() for kind in ("pie", "fixed")]
    out.append(cortex_m_elf().read_bytes())
    return out


def _seeds_go() -> list[bytes]:
    # stripped: the scan-and-validate path, and a third of the time per execution of the
    # symbol-table path (which the suite's Go tests cover on every target)
    return [_tiny_go(stripped=True).read_bytes()]


def _seeds_pclntab() -> list[bytes]:
    """The tiny program's pclntab with pcHeader.nfunc cut to 48 (the functab entry after the
    last function ends it, as the real end entry does): every function is decoded per
    execution, at a fortieth of the cost."""
    out = []
    for tab in _sections(_tiny_go(), ".gopclntab"):
        ptrsize = tab[7]
        fmt = "<I" if ptrsize == 4 else "<Q"
        out.append(tab[:8] + struct.pack(fmt, 48) + tab[8 + ptrsize:])
    return out


def _seeds_buildinfo() -> list[bytes]:
    return _sections(_tiny_go(), ".go.buildinfo")


def _seeds_flash(fmt: str) -> Callable[[], list[bytes]]:
    def build() -> list[bytes]:
        from formats.elf import ElfFile
        from imgtool.flatimage import FlatOptions, build_flat
        from payload_helpers import build_payload

        elves = [ElfFile.parse(cortex_m_elf().read_bytes()), ElfFile.parse(build_payload("raspi2b").elf.read_bytes())]
        return [build_flat(e, FlatOptions(format=fmt)) for e in elves]
    return build


def _seeds_imx() -> list[bytes]:
    return list(_signed_imx())


def _seeds_dcd() -> list[bytes]:
    from formats.imx.image import parse_imx

    imx, _ = _signed_imx()
    img = parse_imx(imx)
    return [imx[img.dcd_offset:img.dcd_offset + img.dcd.length]]


def _seeds_cfg() -> list[bytes]:
    boards = HERE.parent / "imgtool" / "boards"
    return [p.read_bytes() for p in sorted(boards.glob("*.cfg"))[:3]]


def _csf_of(signed: bytes) -> bytes:
    from formats.imx.image import parse_imx

    img = parse_imx(signed)
    return signed[img.csf_offset:img.csf_offset + img.csf_size].rstrip(b"\0")


def _seeds_csf() -> list[bytes]:
    return [_csf_of(_signed_imx()[1])]


def _seeds_srk() -> list[bytes]:
    return [(_pki(k) / "SRK_1_2_3_4_table.bin").read_bytes() for k in ("rsa2048", "p256")]


def _seeds_certificate() -> list[bytes]:
    from cryptography.hazmat.primitives.serialization import Encoding

    from signing.keys import load_certificate

    out = []
    for k in ("rsa2048", "p256"):
        for name in ("SRK_1_crt.pem", "CSF_1_crt.pem", "IMG_1_crt.pem"):
            out.append(load_certificate(_pki(k) / name).public_bytes(Encoding.DER))
    return out


def _seeds_cms() -> list[bytes]:
    from signing.hab_verify import walk_csf

    contents = walk_csf(_seeds_csf()[0])
    return [sig for _cmd, sig in contents.auths] + ([contents.csf_auth[1]] if contents.csf_auth else [])


def _seeds_events() -> list[bytes]:
    from formats.imx.habevents import HAB_CTX_ASSERT, HAB_CTX_COMMAND, HabEvent

    evs = [HabEvent(0x33, 0x0C, HAB_CTX_ASSERT, 0, struct.pack(">III", 0, 0x80000000, 0x1000)),
           HabEvent(0x33, 0x22, HAB_CTX_COMMAND, 0x1D, bytes.fromhex("be000c0003170000")),
           HabEvent(0x69, 0x18, 0xCF, 0x1D)]
    raw = b"".join(e.build() for e in evs)
    text = ["HAB Configuration: 0xf0, HAB State: 0x66", ""]
    for i, e in enumerate(evs, 1):
        b = e.build()
        text += [f"--------- HAB Event {i} -----------------", "event data:"]
        text += ["\t" + " ".join(f"0x{x:02x}" for x in b[j:j + 8]) for j in range(0, len(b), 8)]
    hexdump = "".join(f"{j:08x}  " + " ".join(f"{x:02x}" for x in raw[j:j + 16]) + "  |................|\n"
                      for j in range(0, len(raw), 16))
    return [raw, "\n".join(text).encode() + b"\n", hexdump.encode(), raw.hex().encode()]


def _seeds_pe() -> list[bytes]:
    from imgtool.uefi import build_app, open_signer
    from uefi_helpers import SNAKEOIL_CERT, SNAKEOIL_KEY, build_payload as uefi_payload, snakeoil_password

    work = _cache() / "uefi"
    work.mkdir(exist_ok=True)
    out = []
    signer = open_signer(key=SNAKEOIL_KEY, cert=SNAKEOIL_CERT, password_file=snakeoil_password(work))
    for kind in ("pie", "fixed"):
        elf = uefi_payload(kind, work)
        out.append(build_app(elf, relocatable=kind == "pie").pe)
    out.append(build_app(uefi_payload("pie", work), signer=signer, signing_time=_TIME).pe)
    return out


def _seeds_mbr() -> list[bytes]:
    from formats import mbr

    parts = [mbr.MbrPartition(type=0x0C, lba_start=2048, sectors=8192, bootable=True),
             mbr.MbrPartition(type=0x83, lba_start=10240, sectors=4096)]
    return [mbr.build(parts, disk_signature=0x12345678)]


def _seeds_gpt() -> list[bytes]:
    from formats import gpt

    parts = [gpt.GptPartition(type="esp", first_lba=40, last_lba=90, name="ESP")]
    return [gpt.build(128 * 512, parts, seed="fuzz").to_bytes()]


def _seeds_fat() -> list[bytes]:
    from formats import fat

    vol = fat.build({"config.txt": b"kernel=kernel.img\n", "boot/kernel.img": bytes(range(256)) * 8}, volume_id=1)
    return [vol.to_bytes()]


def _seeds_tar() -> list[bytes]:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
        for name, data in (("disk.raw", b"\xeb\x3c\x90" + bytes(509)), ("dir/a.txt", b"hello\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    import gzip

    plain = buf.getvalue()
    return [plain, gzip.compress(plain, mtime=0)]


def _seeds_boot_stubs() -> list[bytes]:
    from formats.boot import arm, bios

    return [arm.entry_stub(0x110000), arm.bss_zero_stub(0x110000, [(0x200000, 0x210000)]),
            bios.boot_code(load=0x100000, entry=0x100010, lba=1, payload_size=4096)]


def _seeds_size_diff() -> list[bytes]:
    from formats.elf import ElfFile
    from imgtool.size import document
    from imgtool.size.engine import analyze

    doc = document(analyze(ElfFile.parse(_tiny_go().read_bytes(), source="gotiny.elf")))
    for k in ("packages", "modules", "symbols"):
        doc[k] = doc[k][:20]
    return [json.dumps(doc).encode()]


def _seeds_info() -> list[bytes]:
    """One or two inputs of every kind ``imgtool info`` describes (the smallest of each)."""
    out = []
    for name in ("elf", "imx", "pe", "mbr", "gpt", "tar"):
        out += sorted(build_seeds(name), key=len)[:2]
    return out

_SEEDS: dict[str, Callable[[], list[bytes]]] = {
    "elf": _seeds_elf, "go": _seeds_go, "pclntab": _seeds_pclntab, "buildinfo": _seeds_buildinfo,
    "ihex": _seeds_flash("hex"), "srec": _seeds_flash("srec"), "uf2": _seeds_flash("uf2"),
    "imx": _seeds_imx, "dcd": _seeds_dcd, "imx_cfg": _seeds_cfg, "csf": _seeds_csf, "srk": _seeds_srk,
    "certificate": _seeds_certificate, "cms": _seeds_cms, "hab_events": _seeds_events, "pe": _seeds_pe,
    "mbr": _seeds_mbr, "gpt": _seeds_gpt, "fat": _seeds_fat, "tar": _seeds_tar, "boot_stubs": _seeds_boot_stubs,
    "size_diff": _seeds_size_diff, "info": _seeds_info,
}

assert set(_SEEDS) == set(TARGETS)


def corpus_inputs(name: str) -> list[Path]:
    """The saved regression inputs of target ``name`` (``tests/corpus/<name>/*``)."""
    d = CORPUS / name
    return sorted(p for p in d.iterdir() if p.is_file()) if d.is_dir() else []
