"""PE/COFF constants, named as the Microsoft PE/COFF specification names them.

Sources: "Machine Types", "Characteristics", "Windows Subsystem", "DLL Characteristics",
"Optional Header Data Directories", "Section Flags", "Attribute Certificate Table"
(PE/COFF specification rev. 11); the removable-media boot file names of the UEFI
specification 2.10, §3.5.1.1.
"""

from __future__ import annotations

# Machine types
IMAGE_FILE_MACHINE_I386 = 0x14C
IMAGE_FILE_MACHINE_ARM64 = 0xAA64
IMAGE_FILE_MACHINE_AMD64 = 0x8664
IMAGE_FILE_MACHINE_RISCV64 = 0x5064
MACHINE_NAMES = {IMAGE_FILE_MACHINE_I386: "i386", IMAGE_FILE_MACHINE_AMD64: "x86-64",
                 IMAGE_FILE_MACHINE_ARM64: "AArch64", IMAGE_FILE_MACHINE_RISCV64: "RISC-V 64", 0x1C2: "Thumb",
                 0x1C4: "ARMv7", 0x5032: "RISC-V 32"}

#: UEFI removable-media boot file (\\EFI\\BOOT\\BOOT<arch>.EFI) per machine.
BOOT_FILE_NAMES = {IMAGE_FILE_MACHINE_AMD64: "BOOTX64.EFI", IMAGE_FILE_MACHINE_I386: "BOOTIA32.EFI",
                   IMAGE_FILE_MACHINE_ARM64: "BOOTAA64.EFI", 0x1C2: "BOOTARM.EFI",
                   IMAGE_FILE_MACHINE_RISCV64: "BOOTRISCV64.EFI"}

# COFF header Characteristics
IMAGE_FILE_RELOCS_STRIPPED = 0x0001
IMAGE_FILE_EXECUTABLE_IMAGE = 0x0002
IMAGE_FILE_LINE_NUMS_STRIPPED = 0x0004
IMAGE_FILE_LOCAL_SYMS_STRIPPED = 0x0008
IMAGE_FILE_LARGE_ADDRESS_AWARE = 0x0020
IMAGE_FILE_32BIT_MACHINE = 0x0100
IMAGE_FILE_DEBUG_STRIPPED = 0x0200
IMAGE_FILE_DLL = 0x2000
FILE_CHARACTERISTICS_NAMES = {
    IMAGE_FILE_RELOCS_STRIPPED: "RELOCS_STRIPPED", IMAGE_FILE_EXECUTABLE_IMAGE: "EXECUTABLE_IMAGE",
    IMAGE_FILE_LINE_NUMS_STRIPPED: "LINE_NUMS_STRIPPED", IMAGE_FILE_LOCAL_SYMS_STRIPPED: "LOCAL_SYMS_STRIPPED",
    0x0010: "AGGRESSIVE_WS_TRIM", IMAGE_FILE_LARGE_ADDRESS_AWARE: "LARGE_ADDRESS_AWARE",
    0x0080: "BYTES_REVERSED_LO", IMAGE_FILE_32BIT_MACHINE: "32BIT_MACHINE", IMAGE_FILE_DEBUG_STRIPPED: "DEBUG_STRIPPED",
    0x0400: "REMOVABLE_RUN_FROM_SWAP", 0x0800: "NET_RUN_FROM_SWAP", 0x1000: "SYSTEM", IMAGE_FILE_DLL: "DLL",
    0x4000: "UP_SYSTEM_ONLY", 0x8000: "BYTES_REVERSED_HI"}

# Windows subsystems used by UEFI images
IMAGE_SUBSYSTEM_EFI_APPLICATION = 10
IMAGE_SUBSYSTEM_EFI_BOOT_SERVICE_DRIVER = 11
IMAGE_SUBSYSTEM_EFI_RUNTIME_DRIVER = 12
IMAGE_SUBSYSTEM_EFI_ROM = 13
SUBSYSTEM_NAMES = {0: "unknown", 1: "native", 2: "Windows GUI", 3: "Windows CUI", 9: "Windows CE GUI",
                   IMAGE_SUBSYSTEM_EFI_APPLICATION: "EFI application",
                   IMAGE_SUBSYSTEM_EFI_BOOT_SERVICE_DRIVER: "EFI boot service driver",
                   IMAGE_SUBSYSTEM_EFI_RUNTIME_DRIVER: "EFI runtime driver", IMAGE_SUBSYSTEM_EFI_ROM: "EFI ROM"}

# DllCharacteristics
IMAGE_DLLCHARACTERISTICS_HIGH_ENTROPY_VA = 0x0020
IMAGE_DLLCHARACTERISTICS_DYNAMIC_BASE = 0x0040
IMAGE_DLLCHARACTERISTICS_NX_COMPAT = 0x0100
DLL_CHARACTERISTICS_NAMES = {0x0020: "HIGH_ENTROPY_VA", 0x0040: "DYNAMIC_BASE", 0x0080: "FORCE_INTEGRITY",
                             0x0100: "NX_COMPAT", 0x0200: "NO_ISOLATION", 0x0400: "NO_SEH", 0x0800: "NO_BIND",
                             0x1000: "APPCONTAINER", 0x2000: "WDM_DRIVER", 0x4000: "GUARD_CF",
                             0x8000: "TERMINAL_SERVER_AWARE"}

# Data directory indices
IMAGE_DIRECTORY_ENTRY_SECURITY = 4  # the Certificate Table: a file offset, not an RVA
IMAGE_DIRECTORY_ENTRY_BASERELOC = 5
IMAGE_NUMBEROF_DIRECTORY_ENTRIES = 16
DIRECTORY_NAMES = ("Export Table", "Import Table", "Resource Table", "Exception Table", "Certificate Table",
                   "Base Relocation Table", "Debug", "Architecture", "Global Ptr", "TLS Table", "Load Config Table",
                   "Bound Import", "IAT", "Delay Import Descriptor", "CLR Runtime Header", "Reserved")

# Section flags
IMAGE_SCN_CNT_CODE = 0x00000020
IMAGE_SCN_CNT_INITIALIZED_DATA = 0x00000040
IMAGE_SCN_CNT_UNINITIALIZED_DATA = 0x00000080
IMAGE_SCN_MEM_DISCARDABLE = 0x02000000
IMAGE_SCN_MEM_EXECUTE = 0x20000000
IMAGE_SCN_MEM_READ = 0x40000000
IMAGE_SCN_MEM_WRITE = 0x80000000
SECTION_FLAG_LETTERS = ((IMAGE_SCN_CNT_CODE, "c"), (IMAGE_SCN_CNT_INITIALIZED_DATA, "i"),
                        (IMAGE_SCN_CNT_UNINITIALIZED_DATA, "u"), (IMAGE_SCN_MEM_DISCARDABLE, "d"),
                        (IMAGE_SCN_MEM_READ, "R"), (IMAGE_SCN_MEM_WRITE, "W"), (IMAGE_SCN_MEM_EXECUTE, "X"))

# Attribute certificates (WIN_CERTIFICATE)
WIN_CERT_REVISION_1_0 = 0x0100
WIN_CERT_REVISION_2_0 = 0x0200
WIN_CERT_TYPE_X509 = 0x0001
WIN_CERT_TYPE_PKCS_SIGNED_DATA = 0x0002
WIN_CERT_TYPE_EFI_GUID = 0x0EF1


def flag_names(value: int, names: dict[int, str]) -> list[str]:
    """The names of the bits set in ``value`` (unknown bits as hex)."""
    out = [name for bit, name in names.items() if value & bit]
    rest = value & ~sum(names)
    if rest:
        out.append(f"0x{rest:x}")
    return out


def section_flag_letters(characteristics: int) -> str:
    """Section flags as letters: c(ode) i(nitialised) u(ninitialised) d(iscardable) R W X."""
    return "".join(c for bit, c in SECTION_FLAG_LETTERS if characteristics & bit)
