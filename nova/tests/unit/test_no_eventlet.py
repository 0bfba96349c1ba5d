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

"""Importing nova refuses eventlet and selects oslo.service's threads."""

import sys

from futurist import _utils as futurist_utils
from oslo_service import backend
from oslo_utils import importutils
import testtools

import nova


class TestNoEventlet(testtools.TestCase):

    def test_import_is_refused(self):
        error = self.assertRaises(ModuleNotFoundError, __import__,
                                  'eventlet.green.threading')
        self.assertIn('native threads', str(error))
        self.assertNotIn('eventlet', sys.modules)

    def test_library_probes_find_no_eventlet(self):
        self.assertFalse(futurist_utils.EVENTLET_AVAILABLE)
        self.assertIsNone(importutils.try_import('eventlet'))

    def test_threading_backend_selected(self):
        self.assertEqual(backend.BackendType.THREADING,
                         backend.get_backend_type())

    def test_finder_installed_once(self):
        nova._refuse_eventlet()
        self.assertEqual(1, sum(isinstance(finder, nova._RefuseEventlet)
                                for finder in sys.meta_path))
