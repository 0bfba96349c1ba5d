#!/usr/bin/env python3
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

"""Summarise the failed tests of a CI log, for the end of ``.ci/run``.

A CI system often keeps only the tail of a run's output, and the tiers run
for most of an hour: a failure's traceback printed in the middle is lost.
This prints, for each test that stestr reported failed, its id and the last
lines of its captured traceback::

    python3 tools/ci_failures.py LOG

Standard library only: it runs with the machine's python3 before or after
any tox environment exists.
"""

import re
import sys

TRACEBACK_LINES = 30
_FAILED_ID = re.compile(r'^\{\d+\} (\S+) \[[^]]*\] \.\.\. FAILED$')
_DASHES = re.compile(r'^-{3,}$')


def failed_ids(lines):
    """The ids stestr marked FAILED, once each, in order."""
    seen = []
    for line in lines:
        match = _FAILED_ID.match(line.rstrip('\n'))
        if match and match.group(1) not in seen:
            seen.append(match.group(1))
    return seen


def tracebacks(lines):
    """{test id: its "Captured traceback" lines} from stestr's report."""
    found = {}
    current = None
    in_traceback = False
    previous = ''
    for raw in lines:
        line = raw.rstrip('\n')
        failed = _FAILED_ID.match(line)
        # stestr prints a failure's details right after its FAILED line,
        # then again in the report at the end: keep the last copy.
        if failed:
            current, in_traceback = failed.group(1), False
            found[current] = []
        elif _DASHES.match(line) and previous and ' ' not in previous.strip():
            current, in_traceback = previous.strip(), False
            found[current] = []
        elif line.startswith('Captured traceback'):
            in_traceback = True
        elif line.startswith('Captured ') or line.startswith('======'):
            in_traceback = False
        elif in_traceback and current and not line.startswith('~~~'):
            found[current].append(line)
        previous = line
    return found


def summary(lines, limit=TRACEBACK_LINES):
    """The text to print: nothing when no test failed."""
    ids = failed_ids(lines)
    if not ids:
        return ''
    traces = tracebacks(lines)
    out = ['ci: %d failed test(s):' % len(ids)]
    out.extend('ci:   %s' % test_id for test_id in ids)
    for test_id in ids:
        trace = [line for line in traces.get(test_id, []) if line.strip()]
        out.append('')
        out.append('ci: %s' % test_id)
        if len(trace) > limit:
            out.append('    [... %d lines]' % (len(trace) - limit))
        out.extend(trace[-limit:] or ['    (no traceback captured)'])
    return '\n'.join(out) + '\n'


def main(argv):
    with open(argv[1], errors='replace') as log:
        sys.stdout.write(summary(log.readlines()))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
