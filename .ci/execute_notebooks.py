"""Execute notebooks top to bottom in a Jupyter kernel so they can be committed with their outputs, figures included.

    python .ci/execute_notebooks.py [NOTEBOOK ...]   # default: every nbs/*.ipynb not starting with `_`
    python .ci/execute_notebooks.py --check [NOTEBOOK ...]

Run it with the dev venv's python (.venv/bin/python): the kernel is that venv's ipykernel, started in nbs/.
Code cells run in order, `#| slow` and `#| notest` ones included (their outputs are the recorded runs); cells marked
`#| eval: false` (the Colab install cell) or `#| cuda` are left without outputs. Before the first cell the kernel is set
up, outside the notebook, for small outputs: inline figures as PNG at 72 dpi, and $COLORGAN_CACHE pointing at one
temporary folder for the whole invocation (unless set by the caller), so later notebooks reuse what earlier ones
cached. The first error stops everything: its notebook, cell index and traceback are reported and that notebook is
not written. A notebook that ran is saved in place and cleaned with `nbdev_clean` (so CI's nbdev_clean changes
nothing), and its run is recorded in .ci/outputs.json: hashes of its code cells and of the library sources, seconds,
date.

`--check` executes nothing: each notebook must have outputs, each lesson notebook (00-19) a figure, and the recorded
hashes must match the current code and library; it prints what to re-run and exits 1 otherwise.
"""
import argparse, datetime, json, os, re, shutil, subprocess, sys, tempfile, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nbtools import ROOT, ANSI as _ANSI, default_notebooks, rel, read_nb, source, skip_reason, code_sha256, lib_sha256, nbs_path, is_lesson, first_picture

RECORD = ROOT / '.ci' / 'outputs.json'
SKIP_FLAGS = ('cuda',)  # with `eval: false`; `slow` and `notest` cells are executed
WARN_BYTES = 2 * 2**20

def kernel_setup(prefix:str) -> str:
    "Code run in the kernel before the notebook's cells; not saved into the notebook."
    return '\n'.join([
        '%matplotlib inline',
        "%config InlineBackend.figure_formats = ['png']",
        'import matplotlib as _mpl, sys as _sys',
        "_mpl.rcParams['figure.dpi'] = 72",
        f"assert _sys.prefix == {prefix!r}, f'the kernel runs {{_sys.executable}}, not the python of {prefix}'",
        'del _mpl, _sys'])

def output_bytes(nb) -> int:
    "Size of a notebook's outputs (and stored widget state), as JSON."
    widgets = nb.get('metadata', {}).get('widgets')
    return sum(len(json.dumps(c.get('outputs', []))) for c in nb['cells']) + (len(json.dumps(widgets)) if widgets else 0)

def has_image(nb) -> bool: return first_picture(nb) is not None

def fmt_size(n:int) -> str: return f'{n / 2**20:.2f} MB' if n >= 2**20 else f'{n / 2**10:.1f} KB'

def load_record(path:Path) -> dict:
    return json.loads(path.read_text(encoding='utf-8')) if path.exists() else {}

def save_record(path:Path, rec:dict):
    # drop entries of notebooks in the repository that no longer exist (renamed or deleted)
    rec = {k: v for k, v in rec.items() if Path(k).is_absolute() or (ROOT / k).exists()}
    tmp = path.with_name(path.name + '.tmp')
    tmp.write_text(json.dumps(rec, indent=1, sort_keys=True) + '\n', encoding='utf-8')
    tmp.replace(path)

def nbdev_clean(path:Path):
    "Clean the notebook the way CI's `nbdev_clean` does (settings.ini of this repository)."
    exe = Path(sys.executable).parent / 'nbdev_clean'
    cmd = [str(exe)] if exe.exists() else [sys.executable, '-c', 'from nbdev.clean import nbdev_clean; nbdev_clean()']
    r = subprocess.run(cmd + ['--fname', str(path)], cwd=ROOT, capture_output=True, text=True)
    if r.returncode or 'Failed to clean' in r.stderr: sys.exit(f'nbdev_clean failed on {path}:\n{r.stdout}{r.stderr}')

class CellError(Exception): pass

def execute(path:Path, cwd:Path, timeout:float | None) -> tuple[object, dict]:
    "Run the notebook's code cells in a fresh kernel; returns the executed notebook (not yet saved) and counts."
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, kernel_name='python3', timeout=timeout, startup_timeout=180, record_timing=False,
                            allow_errors=False, shutdown_kernel='immediate', resources={'metadata': {'path': str(cwd)}})
    counts = dict(run=0, skipped=0)
    with client.setup_kernel():
        info = client.wait_for_reply(client.kc.kernel_info())
        nb.metadata['language_info'] = info['content']['language_info']
        # nbclient stores an executed cell at its index: the setup cell goes at the end, and is removed after
        nb.cells.append(nbformat.v4.new_code_cell(kernel_setup(sys.prefix)))
        try: client.execute_cell(nb.cells[-1], len(nb.cells) - 1)
        except CellExecutionError as e: raise CellError(f'kernel setup failed:\n{_ANSI.sub("", str(e))}') from None
        finally: nb.cells.pop()
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != 'code': continue
            why = skip_reason(cell, SKIP_FLAGS)
            if why or not source(cell).strip():
                cell.outputs, cell.execution_count = [], None
                counts['skipped'] += bool(why)
                continue
            t = time.time()
            try: client.execute_cell(cell, i, execution_count=counts['run'] + 1)
            except (CellExecutionError, CellTimeoutError, DeadKernelError) as e:
                raise CellError(f'{rel(path)}: cell {i} failed ({type(e).__name__}):\n{_ANSI.sub("", str(e))}') from None
            counts['run'] += 1
            if time.time() - t > 10: print(f'  cell {i}: {time.time() - t:.0f} s', flush=True)
        nb.metadata.pop('widgets', None)  # no saved widget state: GitHub cannot show it, and it weighs megabytes
    return nb, counts

def run(paths:list[Path], record:Path, cwd:Path, timeout:float | None) -> int:
    import nbformat
    own_cache = 'COLORGAN_CACHE' not in os.environ
    if own_cache: os.environ['COLORGAN_CACHE'] = tempfile.mkdtemp(prefix='colorgan-cache-')
    os.environ.pop('MPLBACKEND', None)  # the kernel must use the inline backend, whatever the caller's setting
    print(f"COLORGAN_CACHE={os.environ['COLORGAN_CACHE']}{' (temporary)' if own_cache else ''}; kernel cwd {cwd}", flush=True)
    lib = lib_sha256()
    total = time.time()
    try:
        for path in paths:
            print(f'executing {rel(path)}', flush=True)
            t = time.time()
            try: nb, counts = execute(path, cwd, timeout)
            except CellError as e:
                print(f'\nFAIL {e}\n\n{rel(path)} was not written; fix it and run: python .ci/execute_notebooks.py {rel(path)}')
                return 1
            secs = time.time() - t
            nbformat.write(nb, str(path))
            nbdev_clean(path)
            clean = read_nb(path)
            rec = load_record(record)
            rec[rel(path)] = dict(code_sha256=code_sha256(clean), lib_sha256=lib, seconds=round(secs, 1),
                                  date=datetime.date.today().isoformat())
            save_record(record, rec)
            print(f"  done in {secs:.0f} s: {counts['run']} cells run, {counts['skipped']} skipped; "
                  f"outputs {fmt_size(output_bytes(clean))}{'' if has_image(clean) else ', no figure'}", flush=True)
    finally:
        if own_cache: shutil.rmtree(os.environ['COLORGAN_CACHE'], ignore_errors=True)
    print(f'{len(paths)} notebook(s) executed in {time.time() - total:.0f} s; recorded in {rel(record)}')
    return 0

def check(paths:list[Path], record:Path) -> int:
    rec, lib = load_record(record), lib_sha256()
    opt = '' if record == RECORD else f' --record {rel(record)}'
    stale, other, total = [], 0, 0
    for path in paths:
        nb, key = read_nb(path), rel(path)
        size = output_bytes(nb); total += size
        problems, rerun = [], False
        if not any(c.get('outputs') for c in nb['cells'] if c.get('cell_type') == 'code'):
            problems.append('no outputs'); rerun = True
        r = rec.get(key)
        if r is None: problems.append(f'no recorded run in {rel(record)}'); rerun = True
        else:
            if r.get('code_sha256') != code_sha256(nb): problems.append('code changed since its recorded run'); rerun = True
            if r.get('lib_sha256') != lib: problems.append('library changed since its recorded run'); rerun = True
        if is_lesson(path) and not has_image(nb):
            problems.append('a lesson notebook without a figure' + ('' if rerun else ' (add one: a plot or an image)'))
        if size > WARN_BYTES: print(f'warning: {key} has {fmt_size(size)} of outputs (over {fmt_size(WARN_BYTES)})')
        if problems:
            print(f"{key} ({fmt_size(size)}): {'; '.join(problems)}" +
                  (f': run `python .ci/execute_notebooks.py{opt} {key}`' if rerun else ''))
            if rerun: stale.append(key)
            else: other += 1
        else: print(f'{key}: ok, outputs {fmt_size(size)}')
    gone = sorted(k for k in rec if not Path(k).is_absolute() and not (ROOT / k).exists())
    if gone: print(f"note: {rel(record)} lists notebooks that no longer exist ({', '.join(gone)}); the next run drops them")
    if stale or other:
        if len(stale) > 1:
            every = {rel(n) for n in default_notebooks()} <= set(stale)
            print(f"to refresh them all: python .ci/execute_notebooks.py{opt}{'' if every else ' ' + ' '.join(stale)}")
        print(f'{len(stale) + other} of {len(paths)} notebooks need attention')
        return 1
    print(f'OK: {len(paths)} notebooks have current outputs ({fmt_size(total)} in all)')
    return 0

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('notebooks', nargs='*', type=Path, help='notebooks to execute or check (default: nbs/*.ipynb, not _*)')
    p.add_argument('--check', action='store_true', help='execute nothing; check outputs and recorded hashes')
    p.add_argument('--record', type=Path, default=RECORD, help=f'the JSON file of recorded runs (default {rel(RECORD)})')
    p.add_argument('--cwd', type=Path, default=nbs_path(), help='the kernel working directory (default nbs/)')
    p.add_argument('--timeout', type=float, default=None, help='seconds a cell may run (default: no limit)')
    a = p.parse_args()
    paths = [n.resolve() for n in a.notebooks] or default_notebooks()
    missing = [str(n) for n in paths if not n.is_file()]
    if missing: sys.exit(f"no such notebook: {', '.join(missing)}")
    record = a.record.resolve()
    sys.exit(check(paths, record) if a.check else run(paths, record, a.cwd.resolve(), a.timeout))

if __name__ == '__main__': main()
