"""The ``.imx`` boot image: IVT, boot data and DCD in a header area, then the payload,
then room for a CSF.

Source: matches U-Boot ``mkimage -T imximage`` (IMAGE_VERSION 2, DCD mode; Debian
u-boot-tools 2023.01) byte for byte, checked in ``tests/test_imx_mkimage.py``; the
structures are those of the i.MX6UL/ULL Reference Manual, chapter "System Boot".

Layout for ``BOOT_FROM sd`` (IVT at media offset 0x400, initial load size 0x1000)::

    file off   content
    0x000      IVT (32 bytes)
    0x020      boot data (12 bytes)
    0x02C      DCD (its header is written even when the DCD is empty)
    ...        zeros up to the header size (0xC00)
    0xC00      payload, zero-padded to a multiple of 4 KiB; it lands at TEXT_START

With ``T`` = TEXT_START, ``off`` = IVT offset on the medium and ``L`` = the device's
initial load size, mkimage uses ``init = max(L, off + 0x718)`` (0x718 = its header
structure: IVT 32 + boot data 16 + DCD table 1768), a header area of ``init - off``
bytes, ``self = T - init + off``, ``boot_data.start = T - init``,
``boot_data.length = round_up(len(file) + off, 4 KiB) + CSF`` and, when a CSF size is
set, ``IVT.csf = boot_data.start + round_up(len(file) + off, 4 KiB)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from formats.errors import FormatError
from formats.imx.cfg import ImximageCfg
from formats.imx.dcd import HAB_TAG_DCD, Dcd
from formats.imx.ivt import IVT, BootData

#: Size mkimage reserves for its v2 header structure (IVT 32 + boot data with padding
#: 16 + DCD table 1768), bytes; the header area is never smaller.
MKIMAGE_V2_HEADER_SIZE = 0x718
#: File offsets inside the header area.
BOOT_DATA_OFFSET = 0x20
DCD_OFFSET = 0x2C
#: Where serial download (SDP) loaders put the DCD in i.MX6 OCRAM (habtool ``-S``,
#: armory-boot-usb), and what ``mkimage -l`` prints as the DCD block address.
SDP_DCD_ADDRESS = 0x00910000
#: The ROM loads images in 4 KiB units.
PAGE = 0x1000


def _round_up(n: int, to: int) -> int:
    return (n + to - 1) // to * to


@dataclass(frozen=True)
class ImxLayout:
    """Where mkimage puts things for a cfg and TEXT_START (all in bytes / addresses)."""

    ivt_offset: int  #: IVT offset on the medium
    init_load_size: int  #: media bytes before the payload
    header_size: int  #: header area in the file = init_load_size - ivt_offset
    self_addr: int  #: IVT address
    load_start: int  #: boot_data.start (address of media offset 0)


def layout(cfg: ImximageCfg, text_start: int) -> ImxLayout:
    """Return the header geometry mkimage uses for ``cfg`` with ``-e text_start``.

    Raises:
        FormatError: ``text_start`` too low for the header to sit below it.
    """
    init = max(cfg.init_load_size, cfg.ivt_offset + MKIMAGE_V2_HEADER_SIZE)
    if text_start < init or text_start > 0xFFFFFFFF:
        raise FormatError(
            f"TEXT_START 0x{text_start:x} leaves no room for the {init:#x}-byte boot header below it",
            field="text_start",
        )
    return ImxLayout(
        ivt_offset=cfg.ivt_offset,
        init_load_size=init,
        header_size=init - cfg.ivt_offset,
        self_addr=text_start - init + cfg.ivt_offset,
        load_start=text_start - init,
    )


def build_imx(payload: bytes, *, text_start: int, entry: int, cfg: ImximageCfg, dcd: Dcd | None = None) -> bytes:
    """Build a ``.imx`` image.

    The result is identical to ``mkimage -n CFG -T imximage -e TEXT_START -d payload.bin``
    followed by overwriting IVT.entry (file offset 4, LE u32) with ``entry`` (the TamaGo
    ``dd`` patch), except where docs/imx.md lists mkimage bugs (DCD width and poll count).

    Args:
        payload: the flat binary that must land at ``text_start``.
        text_start: load address of the payload (mkimage ``-e``).
        entry: IVT entry point (the ELF ``e_entry``).
        cfg: the parsed imximage.cfg (boot device, CSF size, DCD).
        dcd: a DCD to use instead of the cfg's.

    Raises:
        FormatError: an empty payload, the DCD does not fit the header area, the image
            overflows 32 bits.
    """
    if not payload:
        raise FormatError("payload is empty (mkimage refuses it too)", field="payload")
    lay = layout(cfg, text_start)
    dcd = cfg.dcd if dcd is None else dcd
    dcd_bytes = dcd.build()
    if DCD_OFFSET + len(dcd_bytes) > lay.header_size:
        raise FormatError(
            f"DCD of {len(dcd_bytes)} bytes does not fit the {lay.header_size:#x}-byte header area",
            field="DCD",
        )
    padded = _round_up(len(payload), PAGE)
    file_len = lay.header_size + padded
    loaded = _round_up(file_len + lay.ivt_offset, PAGE)
    csf = lay.load_start + loaded if cfg.csf_size else 0
    boot_data = BootData(start=lay.load_start, length=loaded + cfg.csf_size)
    if lay.load_start + boot_data.length > 0x1_0000_0000:
        raise FormatError("image runs past the end of the 32-bit address space", field="boot data")
    ivt = IVT(
        entry=entry,
        dcd=lay.self_addr + DCD_OFFSET if dcd.commands else 0,
        boot_data=lay.self_addr + BOOT_DATA_OFFSET,
        self_addr=lay.self_addr,
        csf=csf,
    )
    out = bytearray(file_len)
    out[0 : IVT.SIZE] = ivt.build()
    out[BOOT_DATA_OFFSET : BOOT_DATA_OFFSET + BootData.SIZE] = boot_data.build()
    out[DCD_OFFSET : DCD_OFFSET + len(dcd_bytes)] = dcd_bytes
    out[lay.header_size : lay.header_size + len(payload)] = payload
    return bytes(out)


@dataclass(frozen=True)
class ImxImage:
    """A parsed ``.imx`` image (IVT at ``data[offset]``).

    Attributes:
        ivt, boot_data: the parsed structures.
        dcd: the DCD, or None when there is none. When IVT.dcd is 0 but a DCD header
            sits at 0x2C (an SDP-flavour image, or mkimage's empty DCD) it is parsed
            from there.
        dcd_offset: file offset of the DCD (relative to the IVT), or None.
        header_offset: the IVT offset on the boot medium (``self - boot_data.start``,
            0x400 for SD/eMMC).
        payload_offset: file offset of the payload (relative to the IVT; 0xC00 for SD).
        payload_length: payload bytes, padded to 4 KiB as mkimage pads them.
        payload_address: absolute load address of the payload (TEXT_START).
        csf_offset: file offset (relative to the IVT) of the CSF area, or None.
        csf_size: bytes reserved for the CSF (boot data end - IVT.csf), 0 for none.
        csf_data: the bytes present in the CSF area (empty for an unsigned image).
    """

    ivt: IVT
    boot_data: BootData
    dcd: Dcd | None
    dcd_offset: int | None
    header_offset: int
    payload_offset: int
    payload_length: int
    csf_offset: int | None
    csf_size: int
    csf_data: bytes = b""

    @property
    def payload_address(self) -> int:
        return self.ivt.self_addr + self.payload_offset

    @property
    def image_length(self) -> int:
        """Bytes from the IVT to the end of the padded payload (what the CSF signs)."""
        return self.payload_offset + self.payload_length

    @property
    def is_sdp(self) -> bool:
        """True when IVT.dcd is 0 but the header carries a DCD (serial-download flavour)."""
        return self.ivt.dcd == 0 and self.dcd is not None and bool(self.dcd.commands)


def parse_imx(data: bytes, offset: int = 0) -> ImxImage:
    """Parse a ``.imx`` image whose IVT is at ``data[offset]`` (0 for a .imx file,
    0x400 for an SD card image).

    The payload offset is recovered from the image length N (``IVT.csf - self`` when a
    CSF is set, else the file length): mkimage's header area is 0x718-0x1000 bytes and
    the padded payload a multiple of 4 KiB, so the header is ``N mod 4 KiB`` (or 4 KiB).

    Raises:
        FormatError: a bad IVT, boot data or DCD; IVT pointers that do not agree with
            each other; an image shorter than its header.
    """
    ivt = IVT.parse(data, offset)
    self_addr = ivt.self_addr
    bd_off = ivt.boot_data - self_addr
    if not 0 <= bd_off <= len(data) - offset - BootData.SIZE:
        raise FormatError(
            f"IVT.boot_data 0x{ivt.boot_data:08x} is outside the image (self 0x{self_addr:08x})",
            offset=offset + 16,
            field="IVT.boot_data",
        )
    boot_data = BootData.parse(data, offset + bd_off)
    if not boot_data.start <= self_addr < boot_data.start + boot_data.length:
        raise FormatError(
            f"IVT self 0x{self_addr:08x} is outside the loaded range "
            f"0x{boot_data.start:08x}+0x{boot_data.length:x}",
            offset=offset + 20,
            field="IVT.self",
        )
    header_offset = self_addr - boot_data.start

    dcd = None
    dcd_off = None
    if ivt.dcd:
        dcd_off = ivt.dcd - self_addr
        if not 0 <= dcd_off < len(data) - offset:
            raise FormatError(f"IVT.dcd 0x{ivt.dcd:08x} is outside the image", offset=offset + 12, field="IVT.dcd")
    elif len(data) - offset >= DCD_OFFSET + 4 and data[offset + DCD_OFFSET] == HAB_TAG_DCD:
        dcd_off = DCD_OFFSET  # mkimage writes the DCD header even for an empty DCD
    if dcd_off is not None:
        dcd = Dcd.parse(data, offset + dcd_off)

    available = len(data) - offset
    if ivt.csf:
        n = ivt.csf - self_addr
        if not 0 < n <= boot_data.start + boot_data.length - self_addr:
            raise FormatError(
                f"IVT.csf 0x{ivt.csf:08x} is outside the loaded range", offset=offset + 24, field="IVT.csf"
            )
        csf_size = boot_data.start + boot_data.length - ivt.csf
        csf_offset: int | None = n
    else:
        n = available
        csf_size = 0
        csf_offset = None
    payload_offset = n % PAGE or PAGE
    if n < payload_offset or available < payload_offset:
        raise FormatError(
            f"image of {available} bytes is shorter than its header ({payload_offset:#x} bytes)",
            field="payload",
        )
    csf_data = bytes(data[offset + n : offset + n + csf_size]) if csf_offset is not None else b""
    return ImxImage(
        ivt=ivt,
        boot_data=boot_data,
        dcd=dcd,
        dcd_offset=dcd_off,
        header_offset=header_offset,
        payload_offset=payload_offset,
        payload_length=n - payload_offset,
        csf_offset=csf_offset,
        csf_size=csf_size,
        csf_data=csf_data,
    )


def hab_blocks(img: ImxImage) -> list[tuple[int, int, int]]:
    """The block a HAB Authenticate Data command signs for this image.

    Returns ``[(address, file_offset, length)]`` = ``[(IVT.self, 0, N)]`` with N the bytes
    from the IVT up to the CSF (``IVT.csf - self``), exactly as ``mkimage -l`` prints
    "HAB Blocks" and CST takes ``Blocks =``. mkimage prints it only when IVT.csf is set;
    for an image without a CSF pointer N is the image length.
    """
    return [(img.ivt.self_addr, 0, img.image_length)]


def dcd_blocks(img: ImxImage, dcd_address: int = SDP_DCD_ADDRESS) -> list[tuple[int, int, int]]:
    """The block signed separately for serial download, where the loader writes the DCD
    to OCRAM ``dcd_address``.

    Returns ``[(dcd_address, dcd_file_offset, dcd_length)]`` as ``mkimage -l`` prints
    "DCD Blocks" (``0x00910000 0x0000002c <len>``), or ``[]`` without a DCD.
    """
    if img.dcd is None or img.dcd_offset is None:
        return []
    return [(dcd_address, img.dcd_offset, img.dcd.length)]


def clear_dcd_pointer(imx: bytes) -> bytes:
    """Return ``imx`` with IVT.dcd (file offset 12) zeroed: the image a serial-download
    (SDP) loader sends after writing the DCD separately (habtool ``-s``, armory-boot-usb)."""
    IVT.parse(imx)
    return imx[:12] + b"\0\0\0\0" + imx[16:]
