"""Commands on ELF files: ``info`` and ``bin`` (placeholder module, filled in below)."""
