"""Size budgets: limits on totals, packages, modules and memory regions, checked against
an ``imgtool-size/1`` document.

A budget is a list of ``(key, limit)``: keys ``flash``, ``ram``, ``file``,
``flash_image``, ``memory``, a category (``text``, ``rodata``, ``pclntab``, ``data``,
``bss``), ``pkg:PATH``, ``mod:PATH`` or ``region:NAME``; limits are bytes, or a
:class:`Percent` of the region's size for ``region:NAME``. The CLI parses the
``--budget`` text (:func:`imgtool.cli.params.parse_budget`); this module only checks.
"""

from __future__ import annotations

from fractions import Fraction

from imgtool.errors import InputError
from imgtool.size.engine import CATEGORIES
from imgtool.size.regions import find_region

TOTALS = ("flash", "ram", "file", "flash_image", "memory", *CATEGORIES)
"""Budget keys that limit a whole-image total."""


class Percent(Fraction):
    """A budget limit in percent of a region's size (``region:ddr=90%``), exact."""


def check_key(key: str) -> None:
    """Accept a budget key: one of :data:`TOTALS`, or ``pkg:``/``mod:``/``region:``
    followed by a name.

    Raises:
        ValueError: any other key (the message lists the kinds of keys).
    """
    if key in TOTALS or (key.startswith(("pkg:", "mod:", "region:")) and key.split(":", 1)[1]):
        return
    raise ValueError(f"budget key {key!r}: expected flash, ram, text, rodata, pclntab, data, bss, file, "
                     "pkg:PATH, mod:PATH or region:NAME")


def check_budget(doc: dict, budget: list[tuple[str, int | Percent]]) -> list[dict]:
    """Rows ``key``, ``limit``, ``used``, ``over`` (bytes; negative = headroom), ``ok``;
    a ``region:`` row with a percentage limit also has ``percent`` (the limit in bytes is
    that share of the region size, rounded down). ``region:NAME`` is the ``used`` bytes of
    the region in ``doc["regions"]`` (see :mod:`imgtool.size.regions`).

    Raises:
        InputError: (``field="budget"``) a ``region:`` key names no region of the
            document (or it has none).
    """
    pk = {x["name"]: x for x in doc["packages"]}
    md = {x["name"]: x for x in doc["modules"]}
    out = []
    for key, limit in budget:
        extra = {}
        if key.startswith("pkg:"):
            used = pk.get(key[4:], {}).get("mem", 0)
        elif key.startswith("mod:"):
            used = md.get(key[4:], {}).get("mem", 0)
        elif key.startswith("region:"):
            row = find_region(doc.get("regions"), key[7:])
            if row is None:
                known = ", ".join(r["name"] for r in (doc.get("regions") or {}).get("rows", [])) or "none"
                raise InputError(f"budget key {key!r}: no such memory region (regions: {known}; "
                                 "give a board profile or memory regions)", field="budget")
            used = row["used"]
            if isinstance(limit, Percent):
                extra["percent"] = float(limit)
                limit = int(row["size"] * Fraction(limit) / 100)  # exact, rounded down
        else:
            used = doc["totals"][key]
        out.append({"key": key, "limit": limit, "used": used, "over": used - limit, "ok": used <= limit, **extra})
    return out
