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

"""Run the bench parts and write the results.

``python -m tools.bench [--quick] [--only control_plane,scale]
[--out-dir DIR] [--update-docs]`` runs each part (see ``PARTS``) in a
child process of its own (each starts its own cloud, and a cloud's
configuration, placement engine and emulated hosts are per process),
then writes ``bench-<UTC time>.json``, ``.md``, ``.rst`` and the plots
into the output directory. The last line printed is the JSON file's
path. A part whose module is missing, fails or times out gets
``{"skipped": reason}`` (and ``"error"``: the exception's last line) and
the run goes on.
"""

import argparse
import datetime
import importlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback

if not __package__:
    # Run as ``python tools/bench/run.py``: import from the checkout.
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))))

from tools import bench  # noqa: E402
from tools.bench import report  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DEFAULT_OUT_DIR = os.path.join(REPO, 'bench-results')
PART_TIMEOUT = 1800
STOP_GRACE = 30


def parser():
    p = argparse.ArgumentParser(
        prog='python -m tools.bench',
        description='Benchmarks of the control plane, the data plane, '
                    'scale and erase; writes JSON, Markdown, RST and '
                    'PNG plots and prints the JSON path last.')
    p.add_argument('--quick', action='store_true',
                   help='Small sizes: a smoke test, not a measurement.')
    p.add_argument('--only', default='',
                   help='Comma-separated sections or modules to run '
                        '(control_plane, data_plane, scale, tracker, '
                        'erase); default all.')
    p.add_argument('--out-dir', default=DEFAULT_OUT_DIR,
                   help='Where results go (default: %(default)s).')
    p.add_argument('--workdir', default=None,
                   help='Scratch directory (default: a new temporary '
                        'one, removed afterwards).')
    p.add_argument('--json', action='store_true',
                   help='Also print the whole JSON document (before the '
                        'path line).')
    p.add_argument('--update-docs', action='store_true',
                   help='Copy the RST tables and the plots into '
                        'doc/source/contributor/performance/ '
                        '(latest.inc).')
    p.add_argument('--part-timeout', type=int, default=PART_TIMEOUT,
                   help='Seconds a part may run (default %(default)s).')
    p.add_argument('--child', help=argparse.SUPPRESS)
    p.add_argument('--result', help=argparse.SUPPRESS)
    return p


def progress_printer(name):
    def progress(msg):
        print('[bench %s] %s' % (name, msg), flush=True)
    return progress


def selected(only):
    """The (section, module) pairs to run, in their order."""
    wanted = {w.strip() for w in only.split(',') if w.strip()}
    unknown = wanted - {s for s, _ in bench.PARTS} - {
        m for _, m in bench.PARTS}
    if unknown:
        raise SystemExit('unknown part(s): %s' % ', '.join(sorted(unknown)))
    return [(s, m) for s, m in bench.PARTS
            if not wanted or s in wanted or m in wanted]


def module_present(module):
    return importlib.util.find_spec('tools.bench.%s' % module) is not None


def last_line(exc):
    lines = traceback.format_exception_only(type(exc), exc)
    return lines[-1].strip() if lines else repr(exc)


def run_child(args):
    """In the child: run one module, write its section as JSON."""
    progress = progress_printer(args.child)
    try:
        module = importlib.import_module('tools.bench.%s' % args.child)
        section = module.run(args, progress)
        if not isinstance(section, dict):
            raise TypeError('run() returned %s, not a dict' %
                            type(section).__name__)
    except BaseException as exc:
        traceback.print_exc()
        section = {'skipped': '%s failed' % args.child,
                   'error': last_line(exc)}
    with open(args.result, 'w') as f:
        json.dump(section, f, default=str)
    return 0


def child_command(args, module, result):
    command = [sys.executable, '-m', 'tools.bench.run', '--child', module,
               '--result', result, '--workdir', args.workdir,
               '--out-dir', args.out_dir]
    if args.quick:
        command.append('--quick')
    return command


def run_part(args, module):
    """Run ``module`` in a child process; its section."""
    if not module_present(module):
        return {'skipped': 'tools/bench/%s.py is not there' % module}
    result = os.path.join(args.workdir, '%s.result.json' % module)
    workdir = os.path.join(args.workdir, module)
    os.makedirs(workdir, exist_ok=True)
    child_args = argparse.Namespace(**vars(args))
    child_args.workdir = workdir
    began = time.monotonic()
    proc = subprocess.Popen(child_command(child_args, module, result),
                            cwd=REPO)
    try:
        code = proc.wait(timeout=args.part_timeout)
    except subprocess.TimeoutExpired:
        # SIGTERM first: a part may have daemons of its own to stop.
        proc.terminate()
        try:
            proc.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        return {'skipped': '%s ran longer than %d s' % (
            module, args.part_timeout), 'error': 'timeout'}
    try:
        with open(result) as f:
            section = json.load(f)
    except (OSError, ValueError) as exc:
        return {'skipped': '%s exited %s without a result' % (module, code),
                'error': last_line(exc)}
    section.setdefault('wall_s', round(time.monotonic() - began, 2))
    return section


def merge(sections, section, module, part):
    """Put ``part`` (a module's dict) into ``sections[section]``."""
    if section not in sections:
        sections[section] = part
    elif 'skipped' in sections[section] and 'skipped' not in part:
        # The tracker ran though the scale part did not.
        first = sections[section]
        sections[section] = dict(part, **{'%s_skipped' % section: first})
    elif 'skipped' in part:
        sections[section]['%s_skipped' % module] = part
    else:
        sections[section].update(part)


def utc_stamp(now):
    return now.strftime('%Y%m%dT%H%M%SZ')


def main(argv=None):
    args = parser().parse_args(argv)
    if args.child:
        return run_child(args)
    parts = selected(args.only)
    now = datetime.datetime.now(datetime.timezone.utc)
    os.makedirs(args.out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix='nova-bench-',
                                     dir=args.workdir) as scratch:
        args.workdir = scratch
        sections = {}
        for section, module in parts:
            progress_printer('run')('%s (tools/bench/%s.py)' % (
                section, module))
            merge(sections, section, module, run_part(args, module))
    doc = {'schema': bench.SCHEMA,
           'started': now.isoformat(timespec='seconds'),
           'finished': datetime.datetime.now(
               datetime.timezone.utc).isoformat(timespec='seconds'),
           'quick': bool(args.quick),
           'machine': report.machine()}
    for section in bench.SECTIONS:
        doc[section] = sections.get(section, {'skipped': 'not selected'})
    paths = report.write(doc, args.out_dir, 'bench-%s' % utc_stamp(now))
    if args.update_docs:
        report.update_docs(paths)
    if args.json:
        print(json.dumps(doc, indent=2, sort_keys=True))
    print(paths.json_path, flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
