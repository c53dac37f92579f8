"""The repository's root, for tests that read its files or run its console script."""

from pathlib import Path

REPO = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
