"""``python -m imgtool`` runs the CLI."""

from imgtool.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
