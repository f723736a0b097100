"""Static checks of the committed course: notebook outputs, sizes, exercises, lesson order and private imports.

    python .ci/check_course.py                       # every check
    python .ci/check_course.py --only imports,private
    python .ci/check_course.py --skip size
    python .ci/check_course.py --list                # the check names, with what each checks

Reads the notebooks in nbs/ (not those starting with `_`) and colorgan/*.py as they are on disk (paths from settings.ini); executes nothing and imports
neither colorgan nor torch (standard library only, a second or so). There are no caps on the size of a module, a cell or
a lesson: such caps pushed a lesson's own code (the training loop) into appendices. Checks:

- paths:      no machine paths (/tmp/, /work/, /root/, /home/, /Users/, C:\\, ipykernel_, /usr/lib/python,
              site-packages/, .venv/) in any output: stream text, text/plain, text/html, text/markdown, tracebacks.
- tracebacks: no output of type 'error', no 'Traceback (most recent call last)' in any output.
- warnings:   no 'Warning' in stderr stream output or in text/plain output.
- size:       each notebook under 1 MB (1,048,576 bytes) on disk, and no saved widget state (metadata 'widgets').
- exercises:  each lesson (a numbered name without a letter: 01_lab, not the appendix 01a_core) has, among its last three cells, a markdown cell
              starting with '## Exercises', followed by at least two numbered items.
- imports:    lesson order. A lesson may import colorgan modules (`from colorgan.X import`, `import colorgan.X`,
              `from colorgan import X`, `from .X import`, `colorgan.X.` attributes) only from lessons with a smaller
              number, from appendices (a number and a letter: 08a_runs) or from itself; the module -> notebook map comes from each
              notebook's `#| default_exp`. Code inside strings (a subprocess's `-c` code) is not looked at.
- card:       the model card (output-examples/model_card.md) quotes the numbers of colorgan/records/new_sources.json for
              photos from other sources and for where a click's colour goes (a notebook opened alone has no output-examples/ to check this against).
- pictures:   pictures first: in each lesson, the first output picture (image/png, image/jpeg or image/svg+xml in a
              code cell's committed outputs) comes within the first third of its cells.
- links:      every relative link in a notebook's markdown (`[text](NN_name.ipynb)`, `../README.md`, ...) names a file that
              exists; "next lesson" in a lesson is a link, to the lesson that comes next (the next lesson number).
- private:    no cross-module import of a private name (`_name`, not a dunder) in colorgan/*.py (not _modidx.py):
              `from .X import _name` or `from colorgan.X import _name`, anywhere in the file.

Prints one line per violation (`FILE: what is wrong [check]`), then a summary line; exits 1 if an enabled check
failed.
"""
import argparse, ast, json, re, sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nbtools import ROOT, ANSI as _ANSI, rel, read_nb, source, directives, nbs_path, library_files, number, is_lesson, default_notebooks, first_picture

MAX_BYTES = 2**20
SNIPPET = 60
PATHS = ('/tmp/', '/work/', '/root/', '/home/', '/Users/', 'C:\\', 'ipykernel_', '/usr/lib/python', 'site-packages/', '.venv/')
_PATHS = re.compile('|'.join(re.escape(p) for p in PATHS))
TRACEBACK = 'Traceback (most recent call last)'
TEXT_TYPES = ('text/plain', 'text/html', 'text/markdown')
_ITEM = re.compile(r'^ {0,3}\d+[.)]\s+\S', re.M)

def text(x) -> str: return ''.join(x) if isinstance(x, list) else (x or '')

def snippet(s:str, start:int, end:int) -> str:
    "About SNIPPET characters of `s` around s[start:end], on one line."
    a = max(0, min(start - 20, end - SNIPPET))
    out = ' '.join(s[a:a + SNIPPET].split())
    return ('…' if a else '') + out + ('…' if a + SNIPPET < len(s) else '')

def output_texts(out) -> list[tuple[str, str]]:
    "(kind, text) of one output, ANSI codes removed: stream text, the text mime types, an error's name, value, traceback."
    t = out.get('output_type')
    if t == 'stream': r = [(f"{out.get('name', 'stream')} stream", text(out.get('text')))]
    elif t == 'error':
        r = [('error', f"{out.get('ename', '')}: {out.get('evalue', '')}\n" + '\n'.join(out.get('traceback', [])))]
    else: r = [(m, text(out.get('data', {}).get(m))) for m in TEXT_TYPES if m in out.get('data', {})]
    return [(k, _ANSI.sub('', s)) for k, s in r]

def code_outputs(nb):
    "(cell index, output) for every output of every code cell."
    for i, c in enumerate(nb['cells']):
        if c.get('cell_type') == 'code':
            for o in c.get('outputs', []): yield i, o

# --- checks: each takes the loaded notebooks {path: nb} and returns a list of violation lines ---

def check_paths(nbs) -> list[str]:
    bad = []
    for p, nb in nbs.items():
        for i, o in code_outputs(nb):
            for kind, s in output_texts(o):
                shown = -1  # end of the last reported snippet: matches inside it are not reported again
                for m in _PATHS.finditer(s):
                    if m.start() < shown: continue
                    bad.append(f'{rel(p)}: cell {i}, {kind}: machine path {m.group()!r} in {snippet(s, m.start(), m.end())!r}')
                    shown = m.start() + SNIPPET - 20
    return bad

def check_tracebacks(nbs) -> list[str]:
    bad = []
    for p, nb in nbs.items():
        for i, o in code_outputs(nb):
            if o.get('output_type') == 'error':
                bad.append(f"{rel(p)}: cell {i}: error output {o.get('ename', '?')}: {' '.join(str(o.get('evalue', '')).split())[:SNIPPET]}")
                continue
            for kind, s in output_texts(o):
                if (k := s.find(TRACEBACK)) >= 0:
                    bad.append(f'{rel(p)}: cell {i}, {kind}: {snippet(s, k, k + len(TRACEBACK) + 30)!r}')
    return bad

def check_warnings(nbs) -> list[str]:
    bad = []
    for p, nb in nbs.items():
        for i, o in code_outputs(nb):
            for kind, s in output_texts(o):
                if kind not in ('stderr stream', 'text/plain'): continue
                lines = [l for l in s.splitlines() if 'Warning' in l]
                if lines:
                    more = f' (+{len(lines) - 1} more lines)' if len(lines) > 1 else ''
                    k = lines[0].find('Warning')
                    bad.append(f'{rel(p)}: cell {i}, {kind}: {snippet(lines[0], k, k + 7)!r}{more}')
    return bad

def check_size(nbs) -> list[str]:
    bad = []
    for p, nb in nbs.items():
        n = p.stat().st_size
        if n >= MAX_BYTES: bad.append(f'{rel(p)}: {n:,} bytes ({n / 2**20:.2f} MB), over the 1 MB limit')
        if 'widgets' in nb.get('metadata', {}):
            w = len(json.dumps(nb['metadata']['widgets']))
            bad.append(f"{rel(p)}: saved widget state (metadata 'widgets', {w:,} bytes)")
    return bad

def check_exercises(nbs) -> list[str]:
    bad = []
    for p, nb in nbs.items():
        if not is_lesson(p): continue
        last = nb['cells'][-3:]
        k = next((j for j, c in enumerate(last) if c.get('cell_type') == 'markdown' and source(c).lstrip().startswith('## Exercises')), None)
        if k is None:
            bad.append(f"{rel(p)}: no markdown cell starting with '## Exercises' among its last three cells")
            continue
        after = source(last[k]).lstrip().split('\n', 1)[1:] + [source(c) for c in last[k + 1:] if c.get('cell_type') == 'markdown']
        items = sum(len(_ITEM.findall(s)) for s in after)
        if items < 2: bad.append(f"{rel(p)}: '## Exercises' (cell {len(nb['cells']) - len(last) + k}) has {items} numbered item(s), needs at least 2")
    return bad

def exported_modules(nbs) -> dict[str, Path]:
    "module (dotted, without `colorgan.`) -> the notebook whose `#| default_exp` names it"
    mods = {}
    for p, nb in nbs.items():
        for c in nb['cells']:
            if c.get('cell_type') == 'code' and (d := directives(source(c)).get('default_exp')):
                mods.setdefault(d[0], p)
                break
    return mods

_MAGIC = re.compile(r'^(\s*)[!%?].*$', re.M)
_IMPORT_RE = re.compile(r'(?:^|[;:]\s*)(?:from\s+colorgan\.([\w.]+)\s+import|import\s+colorgan\.([\w.]+)|from\s+\.([\w.]+)\s+import'
                        r'|from\s+colorgan\s+import\s+\(?\s*([\w\s,]+))', re.M)

def imported_modules(src:str, mods) -> set[str]:
    "colorgan modules a cell imports (or uses as `colorgan.X.`), as keys of `mods` where one matches, else as written."
    def known(name):  # the longest exported module that `name` is, or lies inside
        parts = name.split('.')
        for k in range(len(parts), 0, -1):
            if '.'.join(parts[:k]) in mods: return '.'.join(parts[:k])
        return name
    found = set()
    try: tree = ast.parse(_MAGIC.sub(lambda m: m.group(1) + 'pass', src))
    except SyntaxError: tree = None
    if tree is None:  # not Python even without its magics: look at the lines
        for m in _IMPORT_RE.finditer(src):
            if m.group(4): found |= {n for n in re.split(r'[\s,]+', m.group(4)) if n in mods}
            else: found.add(known(m.group(1) or m.group(2) or m.group(3)))
        return found
    for n in ast.walk(tree):
        if isinstance(n, ast.Import):
            found |= {known(a.name[len('colorgan.'):]) for a in n.names if a.name.startswith('colorgan.')}
        elif isinstance(n, ast.ImportFrom):
            base = n.module if n.level == 0 else ('colorgan.' + n.module if n.level == 1 and n.module else 'colorgan' if n.level == 1 else None)
            if base == 'colorgan': found |= {a.name for a in n.names if a.name in mods}
            elif base and base.startswith('colorgan.'): found.add(known(base[len('colorgan.'):]))
        elif isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == 'colorgan' and n.attr in mods:
            found.add(n.attr)
    return found

def check_imports(nbs) -> list[str]:
    mods, bad = exported_modules(nbs), []
    for p, nb in nbs.items():
        n, cells = number(p), {}
        for i, c in enumerate(nb['cells']):
            if c.get('cell_type') != 'code': continue
            for m in imported_modules(source(c), mods): cells.setdefault(m, []).append(i)
        for m, idx in sorted(cells.items()):
            where = f" (cell{'s' if len(idx) > 1 else ''} {', '.join(map(str, idx))})"
            q = mods.get(m)
            if q is None:
                if m != '_modidx': bad.append(f'{rel(p)} imports colorgan.{m}, which no notebook exports (#| default_exp){where}')
                continue
            if q == p or not is_lesson(p): continue
            k = number(q)
            if k is None: bad.append(f'{rel(p)} imports colorgan.{m} ({q.stem}), not an earlier lesson or an appendix{where}')
            elif is_lesson(q) and k >= n: bad.append(f'{rel(p)} imports colorgan.{m} ({q.stem}), a later lesson{where}')
    return bad

_MD_LINK = re.compile(r'\[([^\]]*)\]\(([^)\s#]+)(?:#[^)]*)?\)')
_NEXT = re.compile(r'next lesson', re.I)

def check_links(nbs) -> list[str]:
    bad = []
    lessons = sorted(number(q) for q in nbs if is_lesson(q))
    for p, nb in nbs.items():
        nxt = next((k for k in lessons if k > (number(p) or 99)), None) if is_lesson(p) else None
        for i, c in enumerate(nb['cells']):
            if c.get('cell_type') != 'markdown': continue
            s = source(c)
            for m in _MD_LINK.finditer(s):
                target = m.group(2)
                if '://' in target or target.startswith('mailto:'): continue
                if not (p.parent/target).exists(): bad.append(f'{rel(p)}: cell {i}: link to {target!r}, which does not exist')
            for m in _NEXT.finditer(s):
                link = next((l for l in _MD_LINK.finditer(s) if l.start() <= m.start() < l.end()), None)
                if link is None: bad.append(f"{rel(p)}: cell {i}: 'next lesson' is not a link ({snippet(s, m.start(), m.end())!r})")
                elif number(link.group(2)) != nxt:
                    bad.append(f"{rel(p)}: cell {i}: 'next lesson' links to {link.group(2)!r}, but the next lesson is number {nxt}")
    return bad

def check_private(nbs) -> list[str]:
    bad = []
    for f in library_files():
        own = f.stem
        try: tree = ast.parse(f.read_text(encoding='utf-8'), str(f))
        except SyntaxError as e:
            bad.append(f'{rel(f)}:{e.lineno}: does not parse ({e.msg})')
            continue
        for n in ast.walk(tree):
            if not isinstance(n, ast.ImportFrom): continue
            if n.level == 1 and n.module: mod = n.module
            elif n.level == 0 and n.module and n.module.startswith('colorgan.'): mod = n.module[len('colorgan.'):]
            else: continue
            if mod == own: continue
            names = [a.name for a in n.names if a.name.startswith('_') and not (a.name.startswith('__') and a.name.endswith('__'))]
            if names: bad.append(f"{rel(f)}:{n.lineno}: imports private {', '.join(names)} from colorgan.{mod}")
    return bad

def check_pictures(nbs) -> list[str]:
    bad = []
    for p, nb in nbs.items():
        if not is_lesson(p): continue
        first, n = first_picture(nb), len(nb['cells'])
        if first is None: bad.append(f'{rel(p)}: no picture in its outputs')
        elif first >= n / 3: bad.append(f'{rel(p)}: first picture at cell {first} of {n}, after the first third')
    return bad

CARD = ROOT/'output-examples'/'model_card.md'
NEW_SOURCES = ROOT/'colorgan'/'records'/'new_sources.json'

def check_card(nbs) -> list[str]:
    "The model card's numbers on photos from other sources are the record's (the card is prose; the record is the run's)."
    if not CARD.exists() or not NEW_SOURCES.exists(): return [f'{rel(CARD)} or {rel(NEW_SOURCES)} is missing']
    r = json.loads(NEW_SOURCES.read_text(encoding='utf-8'))
    F, B, text = r['final']['new'], r['choose_baselines']['new'], CARD.read_text(encoding='utf-8')
    want = [f'{x:.2f}' for x in (F['gray']['psnr'], F['v1']['psnr'], F['gray']['ciede2000'], F['v1']['ciede2000'],
                                 B['gray']['psnr'], B['v1']['psnr'], B['gray']['ciede2000'], B['v1']['ciede2000'])]
    want.append(f"{F['BIG_A']['colorfulness']:.1f} against {F['v1']['colorfulness']:.1f}")
    X, D = F['BIG_AUX_s2'], r['final']['dev']  # the cells beside the output, seed 2: more accurate, less colourful
    want += [f"{D['BIG_AUX_s2']['psnr']:.2f} against {D['v1']['psnr']:.2f}", f"{X['psnr']:.2f} against {F['v1']['psnr']:.2f}",
             f"{X['ciede2000']:.2f} against {F['v1']['ciede2000']:.2f}", f"{X['colorfulness']:.1f} against {F['v1']['colorfulness']:.1f}"]
    L = {s: {m: (r['runs']['LONG_AUX_s1'][s][m] + r['runs']['LONG_AUX_s2'][s][m]) / 2 for m in ('psnr', 'colorfulness')} for s in ('dev', 'new')}
    Bd = r['choose_baselines']['dev']  # its GAN stage as long as v1's: the mean of two seeds, 0.01 dB short on the new sources
    want += [f"{L['new']['psnr']:.2f} against {B['v1']['psnr']:.2f}",
             f"{L['dev']['colorfulness']:.1f} and {L['new']['colorfulness']:.1f} against {Bd['v1']['colorfulness']:.1f} and {B['v1']['colorfulness']:.1f}"]
    M = r['runs']['MID_AUX_s1']['new']  # a GAN stage of 50 epochs, its fresh seed: behind v1 on the new sources
    want += [f"PSNR was {M['psnr']:.2f} against {B['v1']['psnr']:.2f}", f"{M['ciede2000']:.2f} against {B['v1']['ciede2000']:.2f}"]
    lv = r['leak_final']['v1']  # where a click's colour goes: on its own surface and across a strong edge
    want.append(f"{lv['dev']['pull_same']:.0%} of the way to the asked colour on the click's own surface and {lv['dev']['pull_across']:.0%} across")
    want.append(f"{lv['new']['pull_same']:.0%} and {lv['new']['pull_across']:.0%} on `scratch`'s")
    return [f'{rel(CARD)}: does not quote {w!r}, which {rel(NEW_SOURCES)} gives' for w in want if w not in text]

CHECKS = {
    'paths': (check_paths, 'no machine paths (/tmp/, /home/, site-packages/, ...) in notebook outputs'),
    'tracebacks': (check_tracebacks, "no error outputs and no 'Traceback (most recent call last)' in outputs"),
    'warnings': (check_warnings, "no 'Warning' in stderr or text/plain outputs"),
    'size': (check_size, 'notebooks under 1 MB, no saved widget state'),
    'exercises': (check_exercises, "each lesson ends with '## Exercises' and at least two numbered items"),
    'pictures': (check_pictures, 'each lesson shows its first picture within its first third of cells'),
    'card': (check_card, "the model card's numbers on photos from other sources are those of their record"),
    'imports': (check_imports, 'lessons import only modules of earlier lessons or appendices'),
    'links': (check_links, "relative links in markdown name files that exist; 'next lesson' links to the next lesson"),
    'private': (check_private, 'no cross-module private imports in the library'),
}

def names(s:str) -> list[str]:
    out = [x.strip() for x in s.split(',') if x.strip()]
    unknown = [x for x in out if x not in CHECKS]
    if unknown: raise argparse.ArgumentTypeError(f"unknown check {', '.join(unknown)} (checks: {', '.join(CHECKS)})")
    return out

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--only', type=names, default=None, metavar='CHECK[,CHECK]', help='run only these checks')
    p.add_argument('--skip', type=names, default=[], metavar='CHECK[,CHECK]', help='do not run these checks')
    p.add_argument('--list', action='store_true', help='print the check names and exit')
    a = p.parse_args()
    if a.list:
        for k, (_, what) in CHECKS.items(): print(f'{k:<11} {what}')
        return 0
    run = [k for k in (a.only or CHECKS) if k not in a.skip]
    if not run: p.error('no check left to run')
    nbs = {q: read_nb(q) for q in default_notebooks()} if set(run) - {'private'} else {}
    counts = {}
    for k in run:
        bad = CHECKS[k][0](nbs)
        for line in bad: print(f'{line} [{k}]')
        counts[k] = len(bad)
    failed = [k for k in run if counts[k]]
    detail = ', '.join(f'{k} {counts[k]}' for k in run)
    print(f"{'FAIL' if failed else 'OK'}: {sum(counts.values())} violation(s) in {len(failed)} of {len(run)} checks "
          f"({detail})" + (f'; {len(nbs)} notebooks' if nbs else '') + (f'; {len(library_files())} library files' if 'private' in run else ''))
    return 1 if failed else 0

if __name__ == '__main__': sys.exit(main())
