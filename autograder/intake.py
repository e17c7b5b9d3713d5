"""Find the submissions in a folder, a zip of folders, or an LMS zip.

Three layouts are read:

* a folder ``<student>/<file>.ipynb`` (one subfolder per student), or
  nbgrader's ``submitted/<student>/<lesson>/<lesson>.ipynb``;
* a zip holding such a folder (optionally inside one enclosing folder);
* a flat zip as a learning management system downloads it, one file per
  student and notebook, the student id in the file name. The names are
  matched with a regular expression with nbgrader's ``zip_collect``
  conventions: named groups ``student_id`` and ``file_id`` (the original
  file name), optionally ``timestamp``. Canvas
  (``doejane_LATE_1234_56789_02_simple_rnn.ipynb``), Moodle
  (``Jane Doe_1234_assignsubmission_file_02_simple_rnn.ipynb``) and
  Blackboard (``ps1_doejane_attempt_2024-01-30-15-00-00_02.ipynb``) names
  are recognised; pass your own expression for other systems.

Zip entries are read in memory (never extracted), each at most
:data:`autograder.repair.MAX_BYTES`. A file whose name is not a lesson
is matched to a lesson by its graded cells. When a student handed in a
lesson more than once, the latest copy is graded and the others are
named in the notes.
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath

from .repair import MAX_BYTES, best_lesson, parse

LMS_PATTERNS = [
    # Canvas: login_[LATE_]userid_fileid_name
    r"^(?P<student_id>[^_/]+)_(?:LATE_)?\d+_\d+_(?P<file_id>[^/]+)$",
    # Moodle (file or folder per student)
    r"^(?P<student_id>[^/]+?)_\d+_assignsubmission_file_/?(?P<file_id>"
    r"[^/]+)$",
    # Blackboard, the example in nbgrader's documentation
    r"^.*?_(?P<student_id>[^_/]+)_attempt_(?P<timestamp>[0-9\-]+)_"
    r"(?P<file_id>[^/]+)$",
]


@dataclass
class Submission:
    student: str
    lesson: str
    data: bytes
    origin: str
    timestamp: str = ""
    order: int = 0
    notes: list[str] = field(default_factory=list)


def clean_student(name: str) -> str | None:
    """The student id as given (NFC), or None if unusable as a folder."""
    name = unicodedata.normalize("NFC", name.strip())
    if not name or name in (".", "..") or any(
            ch in name for ch in "/\\\x00") or len(name.encode()) > 200:
        return None
    return name


def _candidates(folder: Path, origin: str):
    order = 0
    for student_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        entries = []
        for item in sorted(student_dir.iterdir()):
            # nbgrader's submitted/<student>/<lesson>/<lesson>.ipynb
            if item.is_dir() and not item.name.startswith("."):
                entries += sorted(item.glob("*.ipynb"))
            elif not item.name.startswith("."):
                entries.append(item)
        for nb in entries:
            order += 1
            where = f"{origin}/{nb.relative_to(folder)}"
            if not nb.is_file():
                yield None, where, f"{where}: not a file, skipped"
                continue
            stamp = datetime.fromtimestamp(nb.stat().st_mtime).isoformat()
            yield (student_dir.name, nb.name, lambda p=nb: p.read_bytes(),
                   stamp, order, nb.stat().st_size), where, ""
    for stray in sorted(p for p in folder.iterdir() if p.is_file()):
        yield None, f"{origin}/{stray.name}", (
            f"{origin}/{stray.name}: not inside a student folder, skipped")


def _zip_candidates(path: Path, pattern: str | None):
    with zipfile.ZipFile(path) as zf:
        infos = [i for i in zf.infolist() if not i.is_dir()
                 and not PurePosixPath(i.filename).name.startswith(".")
                 and "__MACOSX" not in i.filename]
        parts = [PurePosixPath(i.filename).parts for i in infos]
        strip = 1 if parts and all(len(p) == 3 for p in parts) and \
            len({p[0] for p in parts}) == 1 else 0
        nested = parts and all(len(p) - strip == 2 for p in parts)
        patterns = [pattern] if pattern else LMS_PATTERNS
        for order, (info, p) in enumerate(zip(infos, parts), 1):
            where = f"{path.name}:{info.filename}"
            stamp = datetime(*info.date_time).isoformat()
            student = fname = None
            if nested and not pattern:
                student, fname = p[strip], p[strip + 1]
            else:
                name = "/".join(p[strip:]) if pattern else "/".join(p)
                for pat in patterns:
                    m = re.match(pat, name)
                    if m:
                        student = m.group("student_id")
                        fname = PurePosixPath(m.group("file_id")).name
                        gd = m.groupdict()
                        stamp = gd.get("timestamp") or stamp
                        break
            if student is None:
                yield None, where, (f"{where}: neither <student>/<file> nor "
                                    f"an LMS file name, skipped")
                continue
            yield (student, fname,
                   lambda i=info: zf.read(i) if i.file_size <= MAX_BYTES
                   else b"\0" * (MAX_BYTES + 1),
                   stamp, order, info.file_size), where, ""


def read_submissions(path: Path, lessons: dict[str, dict],
                     pattern: str | None = None, match_renamed: bool = False
                     ) -> tuple[list[Submission], list[str]]:
    """Submissions under ``path``; ``lessons`` maps names to released
    notebooks. Returns the submissions to grade and the problems."""
    if path.is_dir():
        found = list(_candidates(path, path.name))
        return _collect(found, lessons, match_renamed)
    if zipfile.is_zipfile(path):
        found = []
        # Entries are read while the generator holds the zip open.
        for item, where, problem in _zip_candidates(path, pattern):
            if item is not None:
                student, fname, read, stamp, order, size = item
                item = (student, fname, (lambda d: (lambda: d))(read()),
                        stamp, order, size)
            found.append((item, where, problem))
        return _collect(found, lessons, match_renamed)
    raise SystemExit(f"{path}: expected a folder or a zip file")


_COPY_SUFFIX = re.compile(
    r"(\s*\(\d+\)|-\d+|[-_ ]?copy\d*|\s+\d+)$", re.IGNORECASE)


def _strip_copy_suffix(stem: str) -> str:
    """``02_rnn (1)``, ``02_rnn-1``, ``02_rnn-Copy1`` -> ``02_rnn``."""
    for _ in range(3):
        stem = _COPY_SUFFIX.sub("", stem).strip()
    return stem


def _collect(found, lessons, match_renamed=False
             ) -> tuple[list[Submission], list[str]]:
    subs, problems = [], []
    for item, where, problem in found:
        if item is None:
            problems.append(problem)
            continue
        raw_student, fname, read, stamp, order, _ = item
        student = clean_student(raw_student)
        if student is None:
            problems.append(f"{where}: unusable student id "
                            f"{raw_student!r}, skipped")
            continue
        if not fname.lower().endswith(".ipynb"):
            problems.append(f"{where}: not a notebook, skipped")
            continue
        stem = unicodedata.normalize("NFC", fname[:-len(".ipynb")])
        data = read()
        sub = Submission(student, stem, data, where, stamp, order)
        base = _strip_copy_suffix(stem)
        if stem not in lessons and base in lessons:
            sub.lesson = base
            sub.notes.append(f"the notebook was named {fname!r}; graded "
                             f"as lesson {base}")
        elif stem not in lessons:
            rep = parse(data)
            guess = best_lesson(rep.nb, lessons) if rep.nb else None
            if guess is None or not match_renamed:
                hint = (f"; its graded cells are those of lesson {guess} "
                        f"(rename it, or grade with --match-renamed)"
                        if guess else "")
                problems.append(
                    f"{where}: unknown lesson {stem!r} (expected one of "
                    f"{', '.join(sorted(lessons))}){hint}, skipped")
                continue
            sub.lesson = guess
            sub.notes.append(f"the notebook was named {fname!r}; graded "
                             f"as lesson {guess} (its graded cells match)")
        subs.append(sub)
    return _latest(subs), problems


def _latest(subs: list[Submission]) -> list[Submission]:
    groups: dict[tuple[str, str], list[Submission]] = {}
    for s in subs:
        groups.setdefault((s.student, s.lesson), []).append(s)
    out = []
    for key in sorted(groups):
        group = sorted(groups[key], key=lambda s: (s.timestamp, s.order))
        last = group[-1]
        if len(group) > 1:
            others = ", ".join(s.origin for s in group[:-1])
            last.notes.append(f"{len(group)} submissions of this lesson; "
                              f"graded the latest ({last.origin}), "
                              f"ignored {others}")
        out.append(last)
    return out
