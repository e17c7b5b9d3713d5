"""Find the submissions in a folder, a zip of folders, or an LMS zip.

Three layouts are read, and may be mixed in one input:

* folders ``<student>/<file>.ipynb`` (one folder per student) at any
  depth, or nbgrader's ``submitted/<student>/<lesson>/<lesson>.ipynb``:
  the student is the innermost folder holding the file that is not named
  after a lesson;
* a zip holding such folders;
* a flat zip as a learning management system downloads it, one file per
  student and notebook, the student in the file name. The names are
  matched with a regular expression with nbgrader's ``zip_collect``
  conventions: named groups ``student_id`` and ``file_id`` (the original
  file name), optionally ``timestamp`` and ``name`` (a display name).
  Canvas (``doejane_LATE_1234_56789_02_simple_rnn.ipynb``), Moodle
  (``Jane Doe_1234_assignsubmission_file_02_simple_rnn.ipynb``) and
  Blackboard (``ps1_doejane_attempt_2024-01-30-15-00-00_02.ipynb``) names
  are recognised; pass your own expression for other systems. Students
  are keyed by the LMS id (Canvas user id, Moodle participant id,
  Blackboard user name), never by the display name, which two students
  may share.

Nothing is lost silently: every file is either graded or named in the
problems with its reason. Zip entries are read in memory (never
extracted), each at most :data:`autograder.repair.MAX_BYTES`; entries
that would leave the archive (``..``, absolute paths), symbolic links
and unreadable entries are refused. Links in an input folder are never
followed. A file whose name is not a lesson is matched to a lesson by
its graded cells. When a student handed in a lesson more than once, the
latest copy is graded and the others are named. Two different folders
or LMS names that give the same student (names that differ only in
Unicode normalisation, say) are reported as a conflict.
"""

from __future__ import annotations

import os
import re
import stat
import unicodedata
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Callable

from .repair import MAX_BYTES, best_lesson, parse_isolated

LMS_PATTERNS = [
    # Canvas: sortablename_[LATE_]userid_attachmentid_filename
    r"^(?P<name>[^_/]+)_(?:LATE_)?(?P<student_id>\d+)_\d+_"
    r"(?P<file_id>[^/]+)$",
    # Moodle: Full Name_participantid_assignsubmission_file_filename
    # (a file, or a folder per student)
    r"^(?P<name>[^/]+?)_(?P<student_id>\d+)_assignsubmission_[a-z]+_"
    r"/?(?P<file_id>[^/]+)$",
    # Blackboard, the example in nbgrader's documentation
    r"^.*?_(?P<student_id>[^_/]+)_attempt_(?P<timestamp>[0-9\-]+)_"
    r"(?P<file_id>[^/]+)$",
]

_JUNK = ("__MACOSX",)


@dataclass
class Submission:
    student: str                # the key: folder name or LMS id
    lesson: str
    data: bytes
    origin: str
    timestamp: str = ""
    order: int = 0
    notes: list[str] = field(default_factory=list)
    name: str = ""              # for display; the key if none is given
    source: str = ""            # the folder or LMS name it came from
    refused: str = ""           # why it cannot be graded, if known

    def __post_init__(self):
        self.name = self.name or self.student
        self.source = self.source or self.student


@dataclass
class _Entry:
    parts: tuple[str, ...]
    where: str
    read: Callable[[], bytes]
    stamp: str
    order: int
    size: int


def clean_student(name: str) -> str | None:
    """The student id as given (NFC), or None if unusable as a folder."""
    name = unicodedata.normalize("NFC", name.strip())
    if not name or name in (".", "..") or any(
            ch in name for ch in "/\\\x00") or len(name.encode()) > 200:
        return None
    return name


def _junk(parts) -> str:
    """The outermost hidden or system part of a path, or ''."""
    return next((p for p in parts if p.startswith(".") or p in _JUNK), "")


def _unsafe(name: str) -> str:
    """Why a path inside an archive is refused, or ''."""
    if "\x00" in name:
        return "a NUL byte in the name"
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "an absolute path"
    if ".." in re.split(r"[/\\]", name):
        return "a path that leaves the archive (..)"
    return ""


def _folder_entries(folder: Path, origin: str, problems: list[str],
                    junk: Counter):
    order = 0
    for top, dirs, files in os.walk(folder, followlinks=False):
        rel = Path(top).relative_to(folder)
        dirs.sort()
        for d in list(dirs):
            path = Path(top) / d
            if _junk((d,)):
                junk[d] += 1
                dirs.remove(d)
            elif path.is_symlink():
                dirs.remove(d)
                problems.append(f"{origin}/{(rel / d).as_posix()}: a "
                                f"symbolic link, not followed, skipped")
        for f in sorted(files):
            order += 1
            parts = (rel / f).parts
            where = f"{origin}/{(rel / f).as_posix()}"
            if _junk(parts):
                junk[_junk(parts)] += 1
                continue
            try:
                st = os.lstat(Path(top) / f)
            except OSError as exc:
                problems.append(f"{where}: unreadable ({exc.strerror}), "
                                f"skipped")
                continue
            if stat.S_ISLNK(st.st_mode):
                problems.append(f"{where}: a symbolic link, not followed, "
                                f"skipped")
                continue
            if not stat.S_ISREG(st.st_mode):
                problems.append(f"{where}: not a regular file, skipped")
                continue
            stamp = datetime.fromtimestamp(st.st_mtime).isoformat()
            yield _Entry(parts, where, _file_reader(Path(top) / f), stamp,
                         order, st.st_size)


def _file_reader(path: Path):
    def read() -> bytes:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as fh:
            return fh.read(MAX_BYTES + 1)
    return read


def _zip_entries(path: Path, problems: list[str], junk: Counter):
    """Every entry of the zip, read at once; refused ones in problems."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SystemExit(f"{path}: not a readable zip ({exc})")
    with zf:
        infos = zf.infolist()
        names = Counter(i.filename for i in infos)
        seen: Counter = Counter()
        for order, info in enumerate(infos, 1):
            raw = info.filename
            seen[raw] += 1
            where = f"{path.name}:{raw}"
            if names[raw] > 1:
                where += f" (entry {seen[raw]} of {names[raw]})"
            why = _unsafe(raw)
            if why:
                problems.append(f"{where}: {why}, refused")
                continue
            parts = tuple(p for p in re.split(r"[/\\]", raw)
                          if p not in ("", "."))
            if info.is_dir() or not parts:
                continue
            if _junk(parts):
                junk[_junk(parts)] += 1
                continue
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                problems.append(f"{where}: a symbolic link, refused")
                continue
            if info.flag_bits & 0x1:
                problems.append(f"{where}: encrypted, skipped")
                continue
            if names[raw] > 1:
                problems.append(f"{where}: the zip holds {names[raw]} "
                                f"entries named {raw!r}")
            data = b""
            if info.file_size <= MAX_BYTES:
                try:
                    data = zf.read(info)
                except Exception as exc:        # noqa: BLE001
                    problems.append(f"{where}: unreadable entry "
                                    f"({type(exc).__name__}: {exc}), "
                                    f"skipped")
                    continue
            stamp = datetime(*info.date_time).isoformat()
            yield _Entry(parts, where, (lambda d: (lambda: d))(data),
                         stamp, order, info.file_size)


def read_submissions(path: Path, lessons: dict[str, dict],
                     pattern: str | None = None, match_renamed: bool = False
                     ) -> tuple[list[Submission], list[str]]:
    """Submissions under ``path``; ``lessons`` maps names to released
    notebooks. Returns the submissions to grade and the problems."""
    problems: list[str] = []
    junk: Counter = Counter()
    if path.is_dir():
        entries = list(_folder_entries(path, path.name, problems, junk))
    elif zipfile.is_zipfile(path):
        entries = list(_zip_entries(path, problems, junk))
    else:
        raise SystemExit(f"{path}: expected a folder or a zip file")
    found = _resolve(entries, lessons, pattern, problems)
    subs = _collect(found, lessons, match_renamed, problems)
    if junk:
        kinds = ", ".join(f"{n} x {k}" for k, n in junk.most_common(5))
        problems.append(f"{path.name}: {sum(junk.values())} hidden or "
                        f"system file(s) skipped ({kinds})")
    return subs, problems


def _common_prefix(entries: list[_Entry]) -> int:
    """How many leading folders every entry shares."""
    if not entries:
        return 0
    first = entries[0].parts[:-1]
    n = len(first)
    for e in entries[1:]:
        d = e.parts[:-1]
        n = min(n, len(d))
        for i in range(n):
            if d[i] != first[i]:
                n = i
                break
    return n


def _lesson_like(name: str, lessons) -> bool:
    name = unicodedata.normalize("NFC", name)
    return name in lessons or _strip_copy_suffix(name) in lessons or \
        name == "submitted"


def _resolve(entries: list[_Entry], lessons, pattern, problems):
    """(entry, student key, display name, source, file name) per entry
    that names a student; the others go to ``problems``."""
    strip = _common_prefix(entries)
    patterns = [pattern] if pattern else LMS_PATTERNS
    out = []
    for e in entries:
        parts = e.parts[strip:]
        tail = "/".join(parts[-2:])
        tries = ["/".join(parts)] if pattern else \
            ([tail] if len(parts) > 1 else []) + [parts[-1]]
        m = None
        if pattern or len(parts) == 1 or tail.count("_assignsubmission_"):
            m = next((m for pat in patterns for t in tries
                      if (m := re.match(pat, t))), None)
        if m is not None:
            gd = m.groupdict()
            sid, name = gd["student_id"], gd.get("name") or gd["student_id"]
            fname = PurePosixPath(gd["file_id"]).name
            if gd.get("timestamp"):
                e.stamp = gd["timestamp"]
            out.append((e, sid, name, f"{name} ({sid})"
                        if name != sid else sid, fname))
            continue
        if pattern:
            problems.append(f"{e.where}: does not match the LMS file-name "
                            f"pattern, skipped")
            continue
        dirs = list(e.parts[:-1])
        while dirs and _lesson_like(dirs[-1], lessons):
            dirs.pop()
        if not dirs:
            what = "not inside a student folder" if len(e.parts) == 1 \
                else "no student folder around the lesson folder"
            problems.append(f"{e.where}: {what} and not an LMS file name, "
                            f"skipped")
            continue
        out.append((e, dirs[-1], dirs[-1], "/".join(dirs), parts[-1]))
    return out


_COPY_SUFFIX = re.compile(
    r"(\s*\(\d+\)|-\d+|[-_ ]?copy\d*|\s+\d+)$", re.IGNORECASE)


def _strip_copy_suffix(stem: str) -> str:
    """``02_rnn (1)``, ``02_rnn-1``, ``02_rnn-Copy1`` -> ``02_rnn``."""
    for _ in range(3):
        stem = _COPY_SUFFIX.sub("", stem).strip()
    return stem


def _collect(found, lessons, match_renamed, problems) -> list[Submission]:
    subs = []
    for e, raw_student, raw_name, source, fname in found:
        where = e.where
        student = clean_student(raw_student)
        if student is None:
            problems.append(f"{where}: unusable student id "
                            f"{raw_student!r}, skipped")
            continue
        name = clean_student(raw_name) or student
        if not fname.lower().endswith(".ipynb"):
            problems.append(f"{where}: not a notebook, skipped")
            continue
        stem = unicodedata.normalize("NFC", fname[:-len(".ipynb")])
        refused = ""
        if e.size > MAX_BYTES:
            refused = f"the file is too large ({e.size / 2 ** 20:.0f} MB)"
            data = b""
        else:
            data = e.read()
        sub = Submission(student, stem, data, where, e.stamp, e.order,
                         name=name, source=source, refused=refused)
        base = _strip_copy_suffix(stem)
        if stem not in lessons and base in lessons:
            sub.lesson = base
            sub.notes.append(f"the notebook was named {fname!r}; graded "
                             f"as lesson {base}")
        elif stem not in lessons:
            rep = parse_isolated(data) if not refused else None
            guess = best_lesson(rep.nb, lessons) if rep and rep.nb else None
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
    return _latest(subs, problems)


def _latest(subs: list[Submission], problems: list[str]
            ) -> list[Submission]:
    """One submission per student and lesson: the latest. The others and
    any conflict (one key reached from different folders or names) are
    named in the problems and in the graded submission's notes."""
    groups: dict[tuple[str, str], list[Submission]] = {}
    for s in subs:
        groups.setdefault((s.student, s.lesson), []).append(s)
    out = []
    for key in sorted(groups):
        group = sorted(groups[key], key=lambda s: (s.timestamp, s.order))
        last = group[-1]
        sources = sorted({s.source for s in group})
        if len(sources) > 1:
            why = ("names that differ only in Unicode normalisation"
                   if len({unicodedata.normalize("NFC", s)
                           for s in sources}) == 1
                   else "different folders or names with the same id")
            shown = ", ".join(ascii(s) for s in sources)
            msg = (f"conflict: {len(sources)} sources give student "
                   f"{last.student!r} ({why}: {shown}); check that they "
                   f"are one student")
            last.notes.append(msg)
            problems.append(f"{last.origin}: {msg}")
        if len(group) > 1:
            others = ", ".join(s.origin for s in group[:-1])
            last.notes.append(f"{len(group)} submissions of this lesson; "
                              f"graded the latest ({last.origin}), "
                              f"ignored {others}")
            for s in group[:-1]:
                problems.append(f"{s.origin}: not graded: an older "
                                f"submission of {s.lesson} by "
                                f"{last.student!r}; the latest "
                                f"({last.origin}) is graded")
        out.append(last)
    return out
