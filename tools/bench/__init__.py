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

"""The project's benchmarks: ``python -m tools.bench`` (``tox -e bench``).

Each part is a module here with ``run(options, progress) -> dict`` (its
section of the JSON, plain JSON types), ``markdown(section) -> str`` and
``plots(section, outdir) -> [png paths]``; ``run.py`` runs the parts,
each in a process of its own, and ``report.py`` writes the results.
See doc/source/contributor/performance.rst.
"""

SCHEMA = 1
# JSON section -> module, in the order they run. The tracker's keys are
# merged into the scale section.
PARTS = (
    ('control_plane', 'control_plane'),
    ('data_plane', 'data_plane'),
    ('scale', 'scale'),
    ('scale', 'tracker'),
    ('erase', 'erase'),
)
SECTIONS = ('control_plane', 'data_plane', 'scale', 'erase')
