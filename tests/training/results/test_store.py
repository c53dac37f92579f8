"""Every file the project stores goes through the atomic writer of training/results/store.py
(temporary file, fsync, rename): a kill mid-write leaves the previous file or the new one."""

from __future__ import annotations

import re
from pathlib import Path

from repo import REPO
from studies import make_study

from training.results import store
from training.study.report import write_report

WRITES = re.compile(r"\.write_(text|bytes)\(|open\(|json\.dump\(|\.to_csv\(|np\.save|savefig\(|os\.replace\(|"
                    r"mkstemp|shutil\.(copy|move)")
# a write that is atomic in its own way: SB3's EvalCallback log is written to a temporary name by
# np.savez and renamed over evaluations.npz
OWN_WAY = {"run/callbacks.py": ("os.replace(written, self.run_dir / rf.EVALUATIONS)",),
           "config/files.py": ("os.O_RDONLY", 'os.fdopen(fd, "rb")'),  # the bounded reader opens to read only
           # a folder's lock file is locked where it is (renaming a new file over it would drop the
           # lock's inode); it stores nothing, and its reader opens to read only
           "results/lock.py": ("os.open(path, os.O_RDWR | os.O_CREAT, 0o644)", 'open(Path(folder) / LOCK_NAME, "rb")'),
           "cli/__init__.py": ("os.open(os.devnull, os.O_WRONLY)",)}  # stdout to /dev/null once its reader left


def test_every_module_writes_only_through_the_atomic_writer():
    modules = sorted(p for p in (REPO / "training").rglob("*.py") if p.relative_to(REPO).as_posix() != "training/results/store.py")
    assert len(modules) > 30
    for path in modules:
        name = path.relative_to(REPO / "training").as_posix()
        code = "\n".join(line.split("#")[0] for line in path.read_text().splitlines())
        for match in WRITES.finditer(code):
            line = code[code.rfind("\n", 0, match.start()) + 1: code.find("\n", match.end())]
            if any(way in line for way in OWN_WAY.get(name, ())):
                continue
            assert "atomic_write(" in line, (name, line.strip())  # savefig inside atomic_write's callback only


def test_the_store_opens_a_file_twice_only():
    source = (REPO / "training" / "results" / "store.py").read_text()
    assert len(re.findall(r"open\(", source)) == 2  # the temporary file in atomic_write, and sha256's read


def test_a_report_writes_every_file_atomically(tmp_path, monkeypatch):
    """Every file a report renders (REPORT.md, study.json, tables, figures) goes through store.atomic_write."""
    monkeypatch.chdir(tmp_path)
    cfg = make_study(tmp_path)
    before = {p for p in tmp_path.rglob("*") if p.is_file()}
    written: list[Path] = []
    real = store.atomic_write

    def recording(path, write):
        written.append(Path(path).resolve())
        return real(path, write)

    monkeypatch.setattr(store, "atomic_write", recording)
    write_report(cfg)
    new = {p.resolve() for p in tmp_path.rglob("*") if p.is_file()} - {p.resolve() for p in before}
    assert len(new) > 10 and {p.suffix for p in new} == {".md", ".json", ".csv", ".png"}
    assert new <= set(written), sorted(map(str, new - set(written)))
