# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""The bench's outputs: JSON, Markdown, an RST rendering, plots.

The JSON is the record (schema 1, see performance.rst); the Markdown is
for people and the RST the same tables for the documentation
(``doc/source/contributor/performance/latest.inc``).
"""

import dataclasses
import importlib
import importlib.metadata
import json
import os
import platform
import re
import shutil
import subprocess
import traceback

from tools import bench

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DOCS_DIR = os.path.join(REPO, 'doc', 'source', 'contributor', 'performance')
PACKAGES = ('nova-vpmem', 'openstack-placement', 'oslo.messaging',
            'SQLAlchemy', 'libvirt-python', 'matplotlib')
# Keys the output contract names; a skipped section has them
# as null, so a reader can always look them up.
CONTRACT = {
    'control_plane': ('p50_ms', 'p95_ms', 'placement_requests_per_migration',
                      'rpc_messages_per_migration',
                      'sql_writes_per_migration'),
    'data_plane': {'256': ('raw_loopback_s', 'bare_libvirt_s', 'api_s'),
                   '1024': ('raw_loopback_s', 'bare_libvirt_s', 'api_s')},
    'scale': ('migrations_per_s', 'p95_s', 'double_assignments',
              'rt_update_ms'),
    'erase': ('ratio_vs_zero_fill',),
}


# -- the machine -----------------------------------------------------------

def _first_line(command):
    try:
        out = subprocess.run(command, capture_output=True, text=True,
                             timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if out.returncode == 0 and text else None


def _cpu_model():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _memory_mib():
    try:
        with open('/proc/meminfo') as f:
            for line in f:
                if line.startswith('MemTotal:'):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return None


def _package_versions():
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def machine():
    """What the numbers ran on (JSON types only)."""
    commit = _first_line(['git', '-C', REPO, 'rev-parse', '--short',
                          'HEAD'])
    # --no-optional-locks: reading the state must not rewrite the index.
    dirty = _first_line(['git', '--no-optional-locks', '-C', REPO,
                         'status', '--porcelain', '--untracked-files=no'])
    return {
        'cpu_model': _cpu_model(),
        'cores': os.cpu_count(),
        'memory_mib': _memory_mib(),
        'kernel': platform.release(),
        'os': platform.platform(),
        'python': platform.python_version(),
        'libvirt': _first_line(['libvirtd', '--version']),
        'qemu': _first_line(['qemu-system-x86_64', '--version']),
        'packages': _package_versions(),
        'commit': commit and commit + ('+changes' if dirty else ''),
        'load_avg': [round(x, 2) for x in os.getloadavg()],
    }


# -- sections --------------------------------------------------------------

def fill_contract(doc):
    """Null contract keys of skipped sections; name what is missing."""
    missing = []
    for section, keys in CONTRACT.items():
        data = doc.setdefault(section, {'skipped': 'not run'})
        skipped = 'skipped' in data
        for sub, names in (keys.items() if isinstance(keys, dict)
                           else [(None, keys)]):
            where = data
            if sub is not None:
                if not isinstance(data.get(sub), dict):
                    if not skipped:
                        missing.append('%s.%s' % (section, sub))
                        continue
                    data[sub] = {'skipped': data['skipped']}
                where = data[sub]
            for name in names:
                if name in where:
                    continue
                if skipped or 'skipped' in where:
                    where[name] = None
                else:
                    missing.append('.'.join(filter(None, (section, sub,
                                                           name))))
    doc['contract_missing'] = missing
    return doc


def _modules_of(section):
    return [m for s, m in bench.PARTS if s == section]


def _call(module_name, func, *args):
    """``tools.bench.<module>.<func>(*args)``; (result, error line)."""
    try:
        module = importlib.import_module('tools.bench.%s' % module_name)
    except ImportError:
        return None, None
    try:
        return getattr(module, func)(*args), None
    except Exception as exc:
        return None, traceback.format_exception_only(
            type(exc), exc)[-1].strip()


def _skip_note(data, module):
    """Why ``module``'s part of a section is missing, or None."""
    skipped = data.get('%s_skipped' % module)
    if not skipped:
        return None
    return '%s%s' % (skipped.get('skipped'), (
        ' (%s)' % skipped['error']) if skipped.get('error') else '')


# -- Markdown --------------------------------------------------------------

def _md_table(rows, header):
    lines = ['| %s |' % ' | '.join(header),
             '|%s|' % '|'.join(['---'] * len(header))]
    lines += ['| %s |' % ' | '.join(str(c) for c in row) for row in rows]
    return '\n'.join(lines)


def machine_markdown(doc):
    m = doc['machine']
    packages = ', '.join('%s %s' % (k, v) for k, v in
                         sorted(m['packages'].items()) if v)
    rows = [('started (UTC)', doc['started']),
            ('CPU', '%s, %s cores' % (m['cpu_model'], m['cores'])),
            ('memory', '%s MiB' % m['memory_mib']),
            ('kernel / Python', '%s / %s' % (m['kernel'], m['python'])),
            ('libvirt / QEMU', '%s / %s' % (m['libvirt'] or '-',
                                            m['qemu'] or '-')),
            ('packages', packages),
            ('commit', m['commit'] or '-'),
            ('load average at the end', ' '.join(
                str(x) for x in m['load_avg']))]
    if doc.get('quick'):
        rows.append(('mode', '`--quick` (a smoke test, not a measurement)'))
    return _md_table(rows, ('machine', ''))


def markdown(doc, plots):
    """The whole Markdown report; ``plots`` maps section -> PNG paths
    (relative to the report)."""
    out = ['# Bench results %s' % doc['started'], '',
           machine_markdown(doc), '']
    for section in bench.SECTIONS:
        data = doc.get(section, {})
        out += ['## %s' % section, '']
        if 'skipped' in data:
            out += ['Skipped: %s%s' % (data['skipped'], (
                ' (%s)' % data['error']) if data.get('error') else ''), '']
            continue
        for module in _modules_of(section):
            note = _skip_note(data, module)
            if note:
                out += ['%s skipped: %s' % (module, note), '']
                continue
            text, error = _call(module, 'markdown', data)
            if error:
                out += ['(%s.markdown() failed: %s)' % (module, error), '']
            elif text:
                out += [text.strip(), '']
        for png in plots.get(section, ()):
            out += ['![%s](%s)' % (os.path.basename(png), png), '']
    return '\n'.join(out).rstrip() + '\n'


# -- RST (the same tables, for Sphinx) -------------------------------------

_INLINE = re.compile(r'(`[^`]+`|\*\*[^*]+\*\*|\[[^\]]+\]\([^)]+\))')
_RST_SPECIAL = re.compile(r'([\\*_|`])')
_HEADINGS = {2: '~', 3: '^', 4: '"'}


def _rst_inline(text):
    """Markdown inline text -> RST: code, bold, links; the rest escaped."""
    out = []
    pieces = _INLINE.split(text)
    for index, piece in enumerate(pieces):
        if not piece:
            continue
        if index % 2 == 0:
            out.append(_RST_SPECIAL.sub(r'\\\1', piece))
            continue
        if piece.startswith('`'):
            markup = '``%s``' % piece.strip('`')
        elif piece.startswith('**'):
            markup = '**%s**' % piece[2:-2]
        else:
            label, url = re.match(r'\[([^\]]+)\]\(([^)]+)\)', piece).groups()
            markup = '`%s <%s>`__' % (label, url)
        # RST markup must not touch a word character: an escaped space
        # separates them and renders as nothing.
        if out and out[-1][-1:].isalnum():
            markup = '\\ ' + markup
        after = pieces[index + 1] if index + 1 < len(pieces) else ''
        if after[:1].isalnum():
            markup += '\\ '
        out.append(markup)
    return ''.join(out)


def _rst_table(rows):
    cells = [[c.strip() for c in row.strip().strip('|').split('|')]
             for row in rows]
    header, body = cells[0], [r for r in cells[2:]]
    width = len(header)
    out = ['.. list-table::', '   :header-rows: 1', '']
    for row in [header] + body:
        row = (row + [''] * width)[:width]
        for index, cell in enumerate(row):
            text = _rst_inline(cell) or '\\ '
            if text[0] in '-+#':
                # Not a bullet list or a title: a cell's text.
                text = '\\' + text
            out.append('   %s %s' % ('* -' if index == 0 else '  -', text))
    return out + ['']


def rst(markdown_text, image_prefix=''):
    """Render the report's Markdown subset (headings, pipe tables, code
    fences, images, paragraphs and lists) as RST."""
    out = []
    lines = markdown_text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith('```'):
            block = []
            i += 1
            while i < len(lines) and not lines[i].startswith('```'):
                block.append(lines[i])
                i += 1
            out += ['::', ''] + ['   ' + b for b in block] + ['']
        elif line.startswith('|'):
            table = []
            while i < len(lines) and lines[i].startswith('|'):
                table.append(lines[i])
                i += 1
            out += _rst_table(table)
            continue
        elif line.startswith('#'):
            level = len(line) - len(line.lstrip('#'))
            title = _rst_inline(line.lstrip('#').strip())
            if level == 1:
                out += ['**%s**' % line.lstrip('#').strip(), '']
            else:
                out += [title, _HEADINGS.get(level, '"') * len(title), '']
        elif line.startswith('!['):
            path = re.match(r'!\[[^\]]*\]\(([^)]+)\)', line).group(1)
            out += ['.. image:: %s%s' % (image_prefix,
                                         os.path.basename(path)), '']
        else:
            out.append(_rst_inline(line) if line.strip() else '')
        i += 1
    return '\n'.join(out).rstrip() + '\n'


# -- files -----------------------------------------------------------------

@dataclasses.dataclass
class Paths:
    json_path: str
    markdown_path: str
    rst_path: str
    plots: list


def write(doc, out_dir, name):
    """Write ``name``.json/.md/.rst and the plots into ``out_dir``."""
    fill_contract(doc)
    plot_dir = os.path.join(out_dir, name + '-plots')
    plots = {}
    for section in bench.SECTIONS:
        data = doc.get(section, {})
        if 'skipped' in data:
            continue
        for module in _modules_of(section):
            if _skip_note(data, module):
                continue
            os.makedirs(plot_dir, exist_ok=True)
            written, error = _call(module, 'plots', data, plot_dir)
            if error:
                data.setdefault('plot_errors', []).append(
                    '%s: %s' % (module, error))
            for png in written or ():
                plots.setdefault(section, []).append(
                    os.path.relpath(png, out_dir))
    if os.path.isdir(plot_dir) and not os.listdir(plot_dir):
        os.rmdir(plot_dir)
    json_path = os.path.join(out_dir, name + '.json')
    with open(json_path, 'w') as f:
        json.dump(doc, f, indent=2, sort_keys=True, default=str)
        f.write('\n')
    text = markdown(doc, plots)
    markdown_path = os.path.join(out_dir, name + '.md')
    with open(markdown_path, 'w') as f:
        f.write(text)
    rst_path = os.path.join(out_dir, name + '.rst')
    with open(rst_path, 'w') as f:
        f.write(rst(text, image_prefix='performance/'))
    return Paths(json_path, markdown_path, rst_path,
                 [os.path.join(out_dir, p) for ps in plots.values()
                  for p in ps])


def update_docs(paths, docs_dir=DOCS_DIR):
    """The run's RST becomes ``latest.inc``; its plots go beside it."""
    os.makedirs(docs_dir, exist_ok=True)
    shutil.copyfile(paths.rst_path, os.path.join(docs_dir, 'latest.inc'))
    for png in paths.plots:
        shutil.copyfile(png, os.path.join(docs_dir, os.path.basename(png)))
