"""Check that the notebooks run the way Colab runs them: installed by their own `!pip install` cell, nothing else.

    python3 .ci/colab_check.py [show]                # the install lines found, and the pip command derived from them
    python3 .ci/colab_check.py install-cmd --pip P   # just that command, with P as pip (for .ci/run)
    VENV/bin/python .ci/colab_check.py run [NB ...]  # execute the notebooks in VENV (default: nbs/*.ipynb, not _*)

Every notebook starts with a `#| eval: false` cell such as
`!pip install -q "colorgan[onnx] @ git+https://github.com/colorgan/colorgan"`. The derived command installs the
union of those requirements, with the GitHub URL replaced by this checkout (`colorgan[onnx] @ file:///...`), under
`-c constraints-cpu.txt` (the local CPU torch) and with `ipython` (Colab has IPython), into a fresh venv: no nbdev,
no execnb, no dev extras.

`run` executes each notebook in its own subprocess, the way nbdev_test does by default: code cells in order, one
IPython InteractiveShell, matplotlib's Agg backend, and as working directory an empty folder holding only a copy of
the notebook (as on Colab, where a notebook opened from GitHub has no repository beside it: what it reads must come
from the package or be made by the notebook itself), skipping cells marked
`#| eval: false` or flagged with one of settings.ini's tst_flags (slow, cuda, notest). In that subprocess, packages
that the venv holds only because of another notebook's install line (an extra this notebook does not ask for) are
made unimportable, so a notebook that installs plain `colorgan` but imports onnx fails here as it would on Colab.
Each notebook also gets an empty $COLORGAN_CACHE, like a new Colab session. Prints PASS/FAIL per notebook; exits 1
if any failed. Standard library and the venv's own packages only."""
import argparse, os, re, shlex, shutil, subprocess, sys, tempfile, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from nbtools import ROOT, settings, default_notebooks, rel, read_nb, source, skip_reason, lib_path
sys.path[:] = [p for p in sys.path if not p or Path(p).resolve() != HERE]  # notebooks must not import from .ci/

PIP_LINE = re.compile(r'^\s*[!%]\s*pip3?\s+install\s+(.*)$')
QUIET_OPTS = {'-q', '-qq', '-qqq', '--quiet', '-U', '--upgrade', '--no-cache-dir', '--progress-bar=off'}
CONSTRAINTS = ROOT / 'constraints-cpu.txt'

def _colorgan_req() -> re.Pattern:
    url = re.escape(settings()['git_url'].rstrip('/'))
    name = re.escape(settings()['lib_name'])
    return re.compile(rf'^{name}\s*(?:\[([\w,\s-]*)\])?\s*@\s*git\+{url}(?:\.git)?(?:@[\w./-]+)?/?$', re.I)

def install_lines(nb) -> list[tuple[int, str]]:
    "(cell index, line) of every `!pip install` line in the notebook's code cells."
    return [(i, l.strip()) for i, c in enumerate(nb['cells']) if c.get('cell_type') == 'code'
            for l in source(c).splitlines() if PIP_LINE.match(l)]

def parse_install(line:str) -> tuple[set, list, list]:
    "A `!pip install` line -> (colorgan extras or None if it does not install colorgan, other requirements, problems)."
    toks, extras, others, problems = shlex.split(PIP_LINE.match(line).group(1)), None, [], []
    pat = _colorgan_req()
    for t in toks:
        if t.startswith('-'):
            if t not in QUIET_OPTS: problems.append(f'unsupported pip option {t!r}')
        elif m := pat.match(t): extras = (extras or set()) | {e.strip() for e in (m.group(1) or '').split(',') if e.strip()}
        elif re.match(rf"^{re.escape(settings()['lib_name'])}\b", t, re.I):
            problems.append(f'{t!r} does not install {settings()["git_url"]}')
        else: others.append(t)
    return extras, others, problems

def notebook_install(path) -> tuple[set | None, list, list]:
    "What the notebook's own install cell(s) bring: (colorgan extras or None, other requirements, problems)."
    extras, others, problems = None, [], []
    for i, line in install_lines(read_nb(path)):
        e, o, p = parse_install(line)
        if e is not None: extras = (extras or set()) | e
        others += [x for x in o if x not in others]
        problems += [f'cell {i}: {x}' for x in p]
    return extras, others, problems

def local_req(extras) -> str:
    ex = f"[{','.join(sorted(extras))}]" if extras else ''
    return f"{settings()['lib_name']}{ex} @ {ROOT.as_uri()}"

def derived_command(paths, pip='pip') -> list[str]:
    "One pip command installing what all the notebooks' install cells ask for, from this checkout."
    extras, others = set(), []
    for p in paths:
        e, o, _ = notebook_install(p)
        extras |= e or set()
        others += [x for x in o if x not in others]
    return [pip, 'install', '-c', str(CONSTRAINTS), 'ipython', local_req(extras), *others]

def show(paths):
    by_line = {}
    for p in paths:
        lines = install_lines(read_nb(p))
        if not lines: by_line.setdefault('(no `!pip install` line: on Colab, `import colorgan` fails)', []).append(p)
        for _, l in lines: by_line.setdefault(l, []).append(p)
    for line, nbs in by_line.items():
        print(f"{line}\n    in {', '.join(Path(p).name for p in nbs)}")
        if line.startswith('('): continue
        e, o, probs = parse_install(line)
        if e is not None: print(f"    -> pip install {shlex.join(['-c', CONSTRAINTS.name, 'ipython', local_req(e), *o])}")
        for x in probs: print(f'    problem: {x}')
    print('\nthe Colab-way venv is installed with:\n' + shlex.join(derived_command(paths)))

# ---- running one notebook (in the Colab-way venv) ----

def _norm(name:str) -> str: return re.sub(r'[-_.]+', '-', name).lower()

def _closure(roots) -> set[str]:
    "Normalised names of the installed distributions that `roots` [(name, extras)] bring, dependencies included."
    from importlib import metadata
    from packaging.requirements import Requirement
    seen, stack = {}, list(roots)
    while stack:
        name, extras = stack.pop()
        n = _norm(name)
        if n in seen and extras <= seen[n]: continue
        seen[n] = seen.get(n, set()) | extras
        try: dist = metadata.distribution(name)
        except metadata.PackageNotFoundError: continue
        for r in dist.requires or []:
            req = Requirement(r)
            if req.marker and not any(req.marker.evaluate({'extra': e}) for e in extras | {''}): continue
            stack.append((req.name, set(req.extras)))
    return set(seen)

def _top_modules(dist) -> set[str]:
    txt = dist.read_text('top_level.txt')
    if txt: return set(txt.split())
    mods = set()
    for f in dist.files or []:
        top = f.parts[0] if f.parts else ''
        if not top or top in ('..', '__pycache__') or top.endswith(('.dist-info', '.data', '.pth')): continue
        if len(f.parts) > 1: mods.add(top)
        elif top.endswith('.py'): mods.add(top[:-3])
        elif top.endswith(('.so', '.pyd')): mods.add(top.split('.')[0])
    return mods

def unrequested_modules(extras, others) -> dict[str, str]:
    "{top-level module: distribution} of what this venv holds beyond what the notebook's install line brings."
    from importlib import metadata
    from packaging.requirements import Requirement
    roots = [('ipython', set())] + [(Requirement(o).name, set(Requirement(o).extras)) for o in others]
    if extras is not None: roots.append((settings()['lib_name'], set(extras)))
    allowed = _closure(roots) | {'pip', 'setuptools', 'wheel', 'packaging'}
    keep, block = set(), {}
    for d in metadata.distributions():
        mods = _top_modules(d)
        if _norm(d.metadata['Name']) in allowed: keep |= mods
        else: block.update({m: d.metadata['Name'] for m in mods})
    return {m: d for m, d in block.items() if m not in keep and not m.startswith('_')}

def run_one(path:Path) -> int:
    "Execute one notebook's code cells as nbdev_test does by default, in this process (fresh from `run`)."
    extras, others, problems = notebook_install(path)
    if problems: print(f"ERROR install cell: {'; '.join(problems)}"); return 1
    blocked = unrequested_modules(extras, others)
    for m in blocked: sys.modules[m] = None  # `import m` now raises ModuleNotFoundError, find_spec(m) gives None
    dists = sorted(set(blocked.values()), key=str.lower)
    print(f"install line brings {local_req(extras) if extras is not None else 'nothing (no `!pip install` of colorgan)'}"
          f"{' + ' + ' '.join(others) if others else ''}; made unimportable: "
          f"{', '.join(dists[:10]) + (f', ... ({len(dists)} in all)' if len(dists) > 10 else '') if dists else 'nothing'}")
    os.environ['MPLBACKEND'] = 'Agg'
    alone = Path(os.environ.get('COLAB_CHECK_DIR') or tempfile.mkdtemp(prefix='colorgan-colab-'))  # a new Colab session: the notebook, nothing beside it
    shutil.copy2(path, alone/path.name)
    os.chdir(alone)
    sys.path.insert(0, '')  # a Jupyter kernel imports from its working directory
    import importlib.util
    spec = None if extras is None else importlib.util.find_spec(settings()['lib_name'])
    if spec is not None and Path(spec.origin).resolve().is_relative_to(lib_path()):
        print(f'ERROR {settings()["lib_name"]} is imported from the checkout ({spec.origin}), not from the install'); return 1
    from IPython.core.interactiveshell import InteractiveShell
    shell = InteractiveShell.instance()
    try: shell.colors = 'nocolor'
    except Exception: pass
    skip_flags = settings().get('tst_flags', '').split()
    ran, skipped = 0, {}
    for i, cell in enumerate(read_nb(path)['cells']):
        if cell.get('cell_type') != 'code' or not source(cell).strip(): continue
        if why := skip_reason(cell, skip_flags):
            skipped[why] = skipped.get(why, 0) + 1; continue
        t = time.time()
        res = shell.run_cell(source(cell), store_history=True)
        if not res.success:
            e = res.error_in_exec or res.error_before_exec
            name = getattr(e, 'name', None)
            hint = ''
            if isinstance(e, ModuleNotFoundError) and name and name.partition('.')[0] in blocked:
                hint = (" (this notebook has no `!pip install ... colorgan` cell, so it brings nothing: on Colab, `import colorgan` fails)" if extras is None else
                        f" ({blocked[name.partition('.')[0]]} is in this venv for other notebooks; this notebook's install "
                        f"line does not bring it)")
            print(f'ERROR cell {i}: {type(e).__name__}: {e}{hint}', flush=True); return 1
        ran += 1
        if time.time() - t > 10: print(f'cell {i}: {time.time() - t:.0f} s', flush=True)
    print(f"ran {ran} cells; skipped {', '.join(f'{n} {k}' for k, n in skipped.items()) or 'none'}")
    return 0

def check_venv() -> str | None:
    import importlib.util
    extra = [m for m in ('nbdev', 'execnb') if importlib.util.find_spec(m)]
    if extra: return f"{sys.prefix} has {', '.join(extra)}: not a Colab-way install (use a fresh venv)"
    if not importlib.util.find_spec('IPython'): return f'{sys.prefix} has no IPython'
    spec = importlib.util.find_spec(settings()['lib_name'])
    if spec is None: return f"{settings()['lib_name']} is not installed in {sys.prefix}"
    if Path(spec.origin).resolve().is_relative_to(lib_path()):
        return f"{settings()['lib_name']} in {sys.prefix} is the checkout itself (an editable install?), not an install of it"
    return None

def run(paths, timeout:float) -> int:
    if err := check_venv(): print(f'FAIL {err}'); return 1
    passed = failed = 0
    for p in paths:
        t = time.time()
        cache, alone = tempfile.mkdtemp(prefix='colorgan-colab-cache-'), tempfile.mkdtemp(prefix='colorgan-colab-')
        env = dict(os.environ, MPLBACKEND='Agg', COLORGAN_CACHE=cache, COLAB_CHECK_DIR=alone)
        env.pop('IN_TEST', None)
        try:
            r = subprocess.run([sys.executable, str(Path(__file__).resolve()), '_one', str(p)], env=env, timeout=timeout,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors='replace')
            out, rc = r.stdout, r.returncode
        except subprocess.TimeoutExpired as e:
            out, rc = (e.stdout or b'').decode(errors='replace') if isinstance(e.stdout, bytes) else (e.stdout or ''), None
            out += f'\nERROR timed out after {timeout:.0f} s'
        finally:
            for d in (cache, alone): shutil.rmtree(d, ignore_errors=True)
        secs = time.time() - t
        if rc == 0:
            passed += 1
            print(f'PASS {rel(p)} ({secs:.0f} s)', flush=True)
        else:
            failed += 1
            err = [l for l in out.splitlines() if l.startswith('ERROR ')]
            print(f"FAIL {rel(p)} ({secs:.0f} s): {err[-1][6:] if err else f'exit status {rc}'}")
            print('\n'.join('    ' + l for l in out.rstrip().splitlines()[-40:]), flush=True)
    print(f'colab-way: {passed} passed, {failed} failed')
    return 1 if failed else 0

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('mode', nargs='?', default='show', choices=['show', 'install-cmd', 'run', '_one'])
    ap.add_argument('notebooks', nargs='*', type=Path)
    ap.add_argument('--pip', default='pip', help='the pip to put in the install command')
    ap.add_argument('--timeout', type=float, default=1200, help='seconds one notebook may take (run)')
    a = ap.parse_args()
    paths = [p.resolve() for p in a.notebooks] or default_notebooks()
    if missing := [str(p) for p in paths if not p.is_file()]: sys.exit(f"no such notebook: {', '.join(missing)}")
    if a.mode == 'show': show(paths)
    elif a.mode == 'install-cmd': print(shlex.join(derived_command(paths, a.pip)))
    elif a.mode == 'run': sys.exit(run(paths, a.timeout))
    else: sys.exit(run_one(paths[0]))

if __name__ == '__main__': main()
