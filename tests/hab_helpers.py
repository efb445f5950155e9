"""Shared helpers for the HAB tests: key folders generated once per test session, tools, images.

Keys are cached per process (RSA-4096 generation is slow); each test gets its own copy of
the folder so it may damage files freely.
"""

from __future__ import annotations

import datetime as dt
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

SIGNING_TIME = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.timezone.utc)
_CACHE: dict[tuple, Path] = {}
_ROOT: list[Path] = []


def _cache_root() -> Path:
    if not _ROOT:
        import tempfile

        _ROOT.append(Path(tempfile.mkdtemp(prefix="imgtool-hab-keys-")))
    return _ROOT[0]


def write_files(folder: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def pki(key_type: str = "rsa2048", layout: str = "habtool", srks: int = 4, password: bytes | None = None,
        signing_srks: tuple[int, ...] | None = None) -> Path:
    """A generated PKI folder (cached; do not modify it, copy it with :func:`pki_copy`)."""
    from signing.pki import generate_pki

    key = (key_type, layout, srks, password, signing_srks)
    if key not in _CACHE:
        folder = _cache_root() / "-".join(str(k) for k in key).replace("/", "_")
        folder.mkdir(parents=True)
        write_files(folder, generate_pki(key_type=key_type, srks=srks, layout=layout, password=password,
                                         signing_srks=signing_srks,
                                         not_before=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)))
        _CACHE[key] = folder
    return _CACHE[key]


def pki_copy(tmp_path: Path, **kwargs) -> Path:
    dst = tmp_path / "keys"
    shutil.copytree(pki(**kwargs), dst)
    return dst


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:  # a reference tool the comparison needs: never skip silently
        pytest.fail(f"{tool} is needed (scripts/setup.sh installs it)", pytrace=False)
    return path


def run(*args, cwd=None, check=True, input=None) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], cwd=cwd, check=check, capture_output=True, input=input)


def openssl_verify_csf(workdir: Path, csf: bytes, body: bytes, base: int, outside: dict[int, bytes] | None = None) -> int:
    """Check the CSF signature and every image signature of ``csf`` with ``openssl cms
    -verify`` (the independent check): the CSF signature over the CSF header and commands
    with the CSFK certificate, each Authenticate Data signature over its blocks with the
    IMG certificate. Block bytes come from ``body`` (the image as loaded at ``base``), or
    from ``outside`` (address -> bytes) for a block outside it (the SDP DCD in OCRAM).
    Returns the number of signatures verified; any failure is an AssertionError."""
    from signing.hab_verify import walk_csf

    need("openssl")
    contents = walk_csf(csf)
    pems = {}
    for slot in (1, 2):
        der = workdir / f"crt{slot}.der"
        der.write_bytes(contents.certs[slot][1])
        pems[slot] = workdir / f"crt{slot}.pem"
        pems[slot].write_bytes(run("openssl", "x509", "-inform", "DER", "-in", der).stdout)
    jobs = [(contents.csf_auth[1], csf[: contents.csf.length], pems[1])]
    for cmd, sig in contents.auths:
        data = b""
        for start, length in cmd.blocks:
            off = start - base
            data += body[off : off + length] if 0 <= off < len(body) else (outside or {})[start][:length]
        jobs.append((sig, data, pems[2]))
    for i, (sig, data, cert) in enumerate(jobs):
        (workdir / "sig.der").write_bytes(sig)
        (workdir / "data.bin").write_bytes(data)
        res = run("openssl", "cms", "-verify", "-binary", "-noverify", "-inform", "DER", "-certfile", cert,
                  "-content", workdir / "data.bin", "-in", workdir / "sig.der", "-out", "/dev/null", check=False)
        assert res.returncode == 0, (i, res.stderr)
    return len(jobs)


# --- a minimal .imx as mkimage writes it (used when formats.imx.image is not there) -------


def mkimage_imx(tmp_path: Path, payload: bytes, *, text_start: int = 0x80010000, entry: int | None = None,
                csf: int = 0x4000, dcd_lines: tuple[str, ...] = ("DATA 4 0x020c4068 0xffffffff", "DATA 4 0x020c406c 0xffffffff")) -> bytes:
    """Build an .imx with Debian mkimage (IMAGE_VERSION 2, BOOT_FROM sd, CSF), patch IVT.entry."""
    need("mkimage")
    cfg = tmp_path / "imximage.cfg"
    cfg.write_text("IMAGE_VERSION 2\nBOOT_FROM sd\n" + (f"CSF 0x{csf:x}\n" if csf else "") + "".join(l + "\n" for l in dcd_lines))
    app = tmp_path / "app.bin"
    app.write_bytes(payload)
    out = tmp_path / "app.imx"
    run("mkimage", "-n", cfg, "-T", "imximage", "-e", hex(text_start), "-d", app, out)
    data = bytearray(out.read_bytes())
    if entry is not None:
        struct.pack_into("<I", data, 4, entry)
    return bytes(data)


def sample_payload(size: int = 4452, seed: int = 1) -> bytes:
    import random

    rnd = random.Random(seed)
    return bytes(rnd.getrandbits(8) for _ in range(size))


# --- NXP hab4_pki_tree.sh (Debian imx-code-signing-tool) ------------------------------------

PKI_TREE = Path("/usr/share/doc/imx-code-signing-tool/pki_scripts/hab4_pki_tree.sh")

# Minimal OpenSSL configuration the script needs (the Debian package lacks ca/*.cnf).
OPENSSL_CNF = """\
[ ca ]
default_ca = CA_default
[ CA_default ]
dir = .
new_certs_dir = .
database = ./index.txt
serial = ./serial
default_md = sha256
policy = policy_any
email_in_dn = no
copy_extensions = none
[ policy_any ]
commonName = supplied
[ req ]
distinguished_name = req_dn
x509_extensions = v3_ca
string_mask = utf8only
[ req_dn ]
commonName = Common Name
[ v3_ca ]
basicConstraints = critical,CA:true
keyUsage = keyCertSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
"""
V3_CA = "basicConstraints = critical,CA:true\nkeyUsage = keyCertSign\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n"
V3_USR = "basicConstraints = CA:FALSE\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n"


def hab4_pki_tree(ecc: bool = False) -> Path:
    """A key folder made by NXP's hab4_pki_tree.sh (RSA-2048 or P-256, 4 SRKs, SRK CA), cached."""
    key = ("hab4_pki_tree", ecc)
    if key in _CACHE:
        return _CACHE[key]
    if not PKI_TREE.is_file():
        pytest.fail("hab4_pki_tree.sh is needed (apt-get install imx-code-signing-tool; scripts/setup.sh does)", pytrace=False)
    need("openssl")
    root = _cache_root() / ("nxp-tree-ecc" if ecc else "nxp-tree-rsa")
    for sub in ("ca", "keys", "crts"):
        (root / sub).mkdir(parents=True)
    (root / "ca" / "openssl.cnf").write_text(OPENSSL_CNF)
    (root / "ca" / "v3_ca.cnf").write_text(V3_CA)
    (root / "ca" / "v3_usr.cnf").write_text(V3_USR)
    args = ["-existing-ca", "n", "-use-ecc", "y" if ecc else "n"]
    args += ["-kl", "p256" if ecc else "2048"]
    args += ["-duration", "10", "-num-srk", "4", "-srk-ca", "y"]
    run("sh", PKI_TREE, *args, cwd=root / "keys")
    _CACHE[key] = root
    return root


# --- Debian's NXP CST 3.3.1, run with the test-only shim (tests/c/cst_shim.c) -----------------

CST_SHIM_SOURCE = Path(__file__).resolve().parent / "c" / "cst_shim.c"


def cst_shim() -> Path:
    """``cst_shim.so`` built from :data:`CST_SHIM_SOURCE` with the host gcc, cached by the
    source and the compiler version under the test cache."""
    import hashlib
    import os

    from conftest import _cache_dir

    gcc = need("gcc")
    version = run(gcc, "--version").stdout.splitlines()[0]
    digest = hashlib.sha256(version + CST_SHIM_SOURCE.read_bytes()).hexdigest()[:16]
    out = _cache_dir() / f"cst_shim-{digest}.so"
    if not out.exists():
        tmp = out.with_name(out.name + f".tmp{os.getpid()}")
        run(gcc, "-shared", "-fPIC", "-O2", "-Wall", "-Werror", "-o", tmp, CST_SHIM_SOURCE)
        tmp.replace(out)
    return out


def run_cst(cwd: Path, csf_description: str, *, epoch: int) -> bytes:
    """Run Debian's ``cst -i app.csf -o app_csf.bin`` in ``cwd`` (paths in the description
    are relative to it) with signingTime ``epoch``; return the CSF it wrote."""
    import ctypes.util
    import os

    cst = need("cst")
    libcrypto = ctypes.util.find_library("crypto")
    if libcrypto is None:
        pytest.fail("libcrypto (OpenSSL 3) is needed to run cst", pytrace=False)
    (cwd / "app.csf").write_text(csf_description)
    env = dict(os.environ, SOURCE_DATE_EPOCH=str(epoch), LD_PRELOAD=f"{libcrypto} {cst_shim()}")
    r = subprocess.run([cst, "-o", "app_csf.bin", "-i", "app.csf"], cwd=cwd, env=env, capture_output=True, text=True)
    if r.returncode != 0 or not (cwd / "app_csf.bin").exists():
        raise AssertionError(f"cst exited {r.returncode}:\n{r.stdout}\n{r.stderr}\n{csf_description}")
    return (cwd / "app_csf.bin").read_bytes()
