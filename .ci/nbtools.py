"""Helpers shared by .ci/execute_notebooks.py and .ci/colab_check.py: notebook cells, nbdev directives, hashes.

Standard library only: .ci/colab_check.py imports it in a venv that has colorgan's own dependencies and nothing else."""
import configparser, hashlib, json, re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def settings() -> configparser.SectionProxy:
    cfg = configparser.ConfigParser(delimiters=['='], interpolation=None)
    cfg.read(ROOT / 'settings.ini', encoding='utf-8')
    return cfg['DEFAULT']

def nbs_path() -> Path: return ROOT / settings().get('nbs_path', 'nbs')
def lib_path() -> Path: return ROOT / settings().get('lib_path', 'colorgan')

ANSI = re.compile(r'\x1b\[[0-9;]*[A-Za-z]')  # terminal colour codes, as tracebacks carry them
_NUMBER = re.compile(r'(\d+)([a-z]?)_')

def number(path) -> int | None:
    "A notebook's number (`07` of `07_hints.ipynb`; `08` of the appendix `08a_runs.ipynb`), or None."
    m = _NUMBER.match(Path(path).name)
    return int(m.group(1)) if m else None

def is_appendix(path) -> bool:
    "Appendices are named for the lesson they serve, with a letter: `08a_runs.ipynb` holds engineering under lesson 08."
    m = _NUMBER.match(Path(path).name)
    return bool(m and m.group(2))

def is_lesson(path) -> bool:
    "Lessons are numbered, without a letter: `01_lab.ipynb`, `15_new_sources.ipynb`."
    return number(path) is not None and not is_appendix(path)

IMAGE_TYPES = ('image/png', 'image/jpeg', 'image/svg+xml')

def first_picture(nb) -> int | None:
    "The index of the first cell with a picture (an image output) in its committed outputs, or None."
    return next((i for i, c in enumerate(nb['cells']) if any(t in o.get('data', {}) for o in c.get('outputs', []) for t in IMAGE_TYPES)), None)

def default_notebooks() -> list[Path]:
    "Every notebook directly in nbs/ whose name does not start with `_`."
    return sorted(p for p in nbs_path().glob('*.ipynb') if not p.name.startswith('_'))

def rel(p) -> str:
    "`p` relative to the repository root when it lies inside it, else absolute: how notebooks are named in reports and records."
    p = Path(p).resolve()
    try: return p.relative_to(ROOT).as_posix()
    except ValueError: return p.as_posix()

def read_nb(path) -> dict:
    with open(path, encoding='utf-8') as f: return json.load(f)

def source(cell) -> str:
    s = cell.get('source', '')
    return ''.join(s) if isinstance(s, list) else s

# nbdev 2 (nbdev.process): the directives are the leading lines of a cell, up to its first line of code, of the form
# `#| name` or `#| name: value`. Like nbdev, a directive written with a colon is keyed `name:` (so `#| eval: false` gives
# {'eval:': ['false']}) and flags such as `#| slow` are keyed by their bare name; a flag only counts without a colon.
_DIRECTIVE = re.compile(r'^\s*#\s*\|')
_CELL_MAGIC = re.compile(r'^\s*%%\w+')

def directives(src:str) -> dict:
    "nbdev-style directives of a cell's source: {name: [args]}."
    out = {}
    for line in src.splitlines():
        if not line.strip() or _CELL_MAGIC.match(line): continue
        if not _DIRECTIVE.match(line): break
        s = _DIRECTIVE.sub('', line, count=1)
        if s.strip().endswith(':'): s = s.replace(':', '')
        s = s.replace(':', ': ').split()
        if s: out[s[0]] = s[1:]
    return out

def skip_reason(cell, skip_flags) -> str | None:
    "Why nbdev_test would not run this code cell with these flags skipped (None: it runs); mirrors nbdev.test.test_nb."
    src = source(cell)
    if 'nbdev_export' + '(' in src: return 'nbdev_export()'
    d = directives(src)
    if d.get('eval:', [''])[0].lower() == 'false': return 'eval: false'
    hit = sorted(set(skip_flags) & d.keys())
    return hit[0] if hit else None

def code_sources(nb) -> list[str]:
    return [source(c) for c in nb['cells'] if c.get('cell_type') == 'code']

def code_sha256(nb) -> str:
    "Hash of a notebook's code cells, in order (apply it to the notebook as nbdev_clean leaves it)."
    return hashlib.sha256(json.dumps(code_sources(nb), ensure_ascii=False).encode('utf-8')).hexdigest()

def library_files() -> list[Path]:
    return sorted((p for p in lib_path().glob('*.py') if p.name != '_modidx.py'), key=lambda p: p.name)

def lib_sha256() -> str:
    "Hash of the library sources: colorgan/*.py except _modidx.py, by name."
    h = hashlib.sha256()
    for p in library_files(): h.update(p.name.encode() + b'\0' + p.read_bytes() + b'\0')
    return h.hexdigest()
