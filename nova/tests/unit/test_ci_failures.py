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

"""tools/ci_failures.py: the failures' summary at the end of .ci/run."""

import os
import subprocess
import sys
import tempfile

from tools import ci_failures

from nova import test

# The shape of stestr's output: each failure's details follow its FAILED
# line, then the report at the end repeats them.
DETAILS = """
Captured traceback:
~~~~~~~~~~~~~~~~~~~
    Traceback (most recent call last):
      File "a.py", line 3, in test_broken
    AssertionError: the erase never ran

Captured pythonlogging:
~~~~~~~~~~~~~~~~~~~~~~~
    2026-12-06 DEBUG noise
"""
LOG = """\
functional: commands[0]> stestr run
{0} nova.tests.a.Test.test_ok [0.1s] ... ok
{1} nova.tests.a.Test.test_broken [2.0s] ... FAILED
%(details)s
{0} nova.tests.a.Test.test_after [0.1s] ... ok

==============================
Failed 1 tests - output below:
==============================

nova.tests.a.Test.test_broken
-----------------------------
%(details)s
======
Totals
======
 - Passed: 2
 - Failed: 1
integration: commands[0]> stestr run
{0} nova.tests.b.Test.test_abort [9.0s] ... FAILED

Captured traceback:
~~~~~~~~~~~~~~~~~~~
    Traceback (most recent call last):
    AssertionError: migration 1 is running
""" % {'details': DETAILS}


class SummaryTest(test.NoDBTestCase):

    def test_each_failure_once_with_its_own_traceback(self):
        text = ci_failures.summary(LOG.splitlines(True))
        self.assertEqual(
            ['ci: 2 failed test(s):',
             'ci:   nova.tests.a.Test.test_broken',
             'ci:   nova.tests.b.Test.test_abort'],
            text.splitlines()[:3])
        broken, abort = text.split('\nci: nova.tests.')[1:]
        self.assertEqual(1, broken.count('the erase never ran'))
        self.assertNotIn('migration 1', broken)
        self.assertNotIn('noise', text)
        self.assertIn('AssertionError: migration 1 is running', abort)

    def test_nothing_failed_prints_nothing(self):
        passing = [line for line in LOG.splitlines(True)
                   if 'FAILED' not in line]
        self.assertEqual('', ci_failures.summary(passing))

    def test_a_long_traceback_keeps_its_end(self):
        lines = ['{0} t.T.test_x [1s] ... FAILED\n',
                 'Captured traceback:\n', '~~~\n']
        lines += ['    frame %d\n' % i for i in range(50)]
        text = ci_failures.summary(lines, limit=5)
        self.assertIn('[... 45 lines]', text)
        self.assertIn('frame 49', text)
        self.assertNotIn('frame 44\n', text)

    def test_runs_as_a_script_on_a_file(self):
        with tempfile.NamedTemporaryFile('w', suffix='.log',
                                         delete=False) as log:
            log.write(LOG)
        self.addCleanup(os.unlink, log.name)
        script = os.path.join(os.path.dirname(ci_failures.__file__),
                              'ci_failures.py')
        out = subprocess.run([sys.executable, script, log.name],
                             capture_output=True, text=True, check=True)
        self.assertIn('ci:   nova.tests.b.Test.test_abort', out.stdout)
