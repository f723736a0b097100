"""Write README.md from nbs/index.ipynb with nbconvert (quarto, which nbdev_readme needs, is not available here).

`python .ci/make_readme.py` writes it; `python .ci/make_readme.py --check` exits 1 if README.md is out of date."""
import os, re, sys
from pathlib import Path
import nbformat
from nbconvert import MarkdownExporter
from nbconvert.preprocessors import Preprocessor

ROOT = Path(__file__).resolve().parent.parent
DIRECTIVE = re.compile(r'^\s*#\|\s*(.*)$')

class NbdevDirectives(Preprocessor):
    "Drop cells nbdev hides from docs (`#| hide`, `#| export` with hide, `#| eval: false` setup) and strip `#|` lines."
    def preprocess(self, nb, resources):
        cells = []
        for cell in nb.cells:
            lines = cell.source.splitlines()
            dirs = [m.group(1).strip() for l in lines if (m := DIRECTIVE.match(l))]
            if cell.cell_type == 'code' and any(d in ('hide', 'exporti', 'include: false') or d.startswith('default_exp') for d in dirs):
                continue
            cell.source = '\n'.join(l for l in lines if not DIRECTIVE.match(l)).strip()
            if cell.source: cells.append(cell)
        nb.cells = cells
        nb.metadata['language_info'] = {'name': 'python'}  # nbdev_clean strips it; it names the code fences
        return nb, resources

LINK = re.compile(r'(!?\[[^\]]*\]\()([^)\s]+)(\))')

def rebase(md:str) -> str:
    "Links in nbs/index.ipynb are relative to nbs/; README.md sits one folder up."
    def fix(m):
        target = m.group(2)
        if re.match(r'^[a-z]+:|^#|^/', target): return m.group(0)
        return m.group(1) + os.path.normpath(os.path.join('nbs', target)) + m.group(3)
    return LINK.sub(fix, md)

def render() -> str:
    nb = nbformat.read(ROOT / 'nbs' / 'index.ipynb', as_version=4)
    exporter = MarkdownExporter(exclude_output_prompt=True, exclude_input_prompt=True)
    exporter.register_preprocessor(NbdevDirectives(), enabled=True)
    body, _ = exporter.from_notebook_node(nb)
    note = '<!-- generated from nbs/index.ipynb by .ci/make_readme.py: edit the notebook, not this file -->\n\n'
    return note + rebase(re.sub(r'\n{3,}', '\n\n', body)).strip() + '\n'

if __name__ == '__main__':
    text, readme = render(), ROOT / 'README.md'
    if '--check' in sys.argv:
        if not readme.exists() or readme.read_text(encoding='utf-8') != text:
            sys.exit('README.md is out of sync with nbs/index.ipynb: run `python .ci/make_readme.py`')
        print('README.md is in sync with nbs/index.ipynb')
    else:
        readme.write_text(text, encoding='utf-8')
