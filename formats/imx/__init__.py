"""NXP i.MX boot image structures: IVT, boot data, DCD, imximage.cfg, CSF and SRK table.

Byte layouts follow the i.MX6UL/ULL Reference Manuals (chapter "System Boot", "Image Vector
Table and Boot Data", "Device Configuration Data") and the HABv4 API Reference Manual; where
U-Boot ``mkimage -T imximage`` is the de-facto standard its output is matched byte for byte.

Modules: :mod:`formats.imx.ivt` (IVT, boot data), :mod:`formats.imx.dcd` (DCD and its
commands), :mod:`formats.imx.cfg` (``imximage.cfg``), :mod:`formats.imx.image` (the
``.imx`` file: build, parse, HAB/DCD block lists), :mod:`formats.imx.csf` (CSF commands
and blobs), :mod:`formats.imx.srk` (SRK table), :mod:`formats.imx.habevents` (the HAB
event log the ROM writes, from raw bytes or U-Boot ``hab_status`` text).
"""
