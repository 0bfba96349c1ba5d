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

"""No import circles among nova's modules (tests excluded).

The graph is read from the source, not from an interpreter, so a circle
is found whatever order the modules happen to be imported in. Every
``import`` and ``from ... import`` of a nova module is an edge: at module
level (also inside ``if``/``try``/class bodies) it runs on import; inside a
function it runs later, and is reported as such, but it still makes a
circle: a function-level import made to dodge a circle is how both
circles this test was written after (``nova.api.wsgi`` and the handlers,
the libvirt driver and its live migration mixin) were hidden.

Importing ``nova.a.b`` runs ``nova/__init__.py`` and ``nova/a/__init__.py``
first, so an import also leads to the packages above the module, except
those the importing module is in itself (they are set up before it runs).
"""

import ast
import os

import fixtures

import nova
from nova import test

NOVA_DIR = os.path.dirname(os.path.abspath(nova.__file__))
EXCLUDED_PACKAGES = ('nova.tests',)


def nova_modules(root=NOVA_DIR):
    """{dotted module name: path} of every module under ``root``."""
    modules = {}
    base = os.path.dirname(root)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames
                             if os.path.exists(os.path.join(dirpath, d,
                                                            '__init__.py')))
        for filename in sorted(filenames):
            if not filename.endswith('.py'):
                continue
            path = os.path.join(dirpath, filename)
            parts = os.path.relpath(path, base)[:-len('.py')].split(os.sep)
            if parts[-1] == '__init__':
                parts.pop()
            name = '.'.join(parts)
            if not any(name == package or name.startswith(package + '.')
                       for package in EXCLUDED_PACKAGES):
                modules[name] = path
    return modules


def _import_statements(tree):
    """(import statement, True when it runs only once a function is
    called) for every import in ``tree``."""
    pending = [(node, False) for node in tree.body]
    while pending:
        node, in_function = pending.pop(0)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, in_function
            continue
        in_function = in_function or isinstance(
            node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        pending.extend((child, in_function)
                       for child in ast.iter_child_nodes(node))


def _packages_above(name):
    parts = name.split('.')
    return ['.'.join(parts[:i]) for i in range(1, len(parts))]


def imported_modules(name, path, modules):
    """{nova module: True if only imported inside functions} of the
    modules that module ``name`` imports."""
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read(), path)
    is_package = os.path.basename(path) == '__init__.py'
    own_packages = set(_packages_above(name))
    found = {}
    for node, in_function in _import_statements(tree):
        targets = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            if node.level:
                # Relative: from the package this module is in.
                package = name if is_package else name.rpartition('.')[0]
                for _ in range(node.level - 1):
                    package = package.rpartition('.')[0]
                source = '.'.join(p for p in (package, node.module) if p)
            else:
                source = node.module
            # ``from nova.api import http`` imports the module nova.api.http
            # when there is one, else a name defined in nova/api/__init__.
            for alias in node.names:
                submodule = '%s.%s' % (source, alias.name)
                targets.append(submodule if submodule in modules else source)
        for target in targets:
            candidates = [package for package in _packages_above(target)
                          if package not in own_packages] + [target]
            for candidate in candidates:
                if candidate in modules and candidate != name:
                    found[candidate] = found.get(candidate, True) and \
                        in_function
    return found


def import_graph(modules):
    return {name: imported_modules(name, path, modules)
            for name, path in modules.items()}


def circular_groups(graph):
    """The groups of modules that import each other (Tarjan's strongly
    connected components of more than one module)."""
    index = {}
    low = {}
    stack = []
    on_stack = set()
    groups = []

    def visit(start):
        # Iterative, so a deep graph does not reach the recursion limit.
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(group)

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return groups


def import_cycles(graph):
    """One circle (a list of modules, first repeated last) per group."""
    return [_circle_in(graph, group) for group in circular_groups(graph)]


def _circle_in(graph, group):
    """A shortest circle through the first module of ``group``."""
    start = min(group)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for child in sorted(set(graph[node]) & group):
            if child == start:
                return paths[node] + [start]
            if child not in paths:
                paths[child] = paths[node] + [child]
                queue.append(child)
    raise AssertionError('no circle in group %s' % sorted(group))


def describe(graph, circle):
    """``a -> b ~> c -> a``: ``~>`` where the import is in a function."""
    text = circle[0]
    for importer, imported in zip(circle[:-1], circle[1:], strict=True):
        arrow = '~>' if graph[importer][imported] else '->'
        text += ' %s %s' % (arrow, imported)
    return text


def describe_group(graph, group):
    """A circle of the group, then the group's other modules if any."""
    circle = _circle_in(graph, group)
    others = sorted(group - set(circle))
    if not others:
        return describe(graph, circle)
    return '%s (in one group with %s)' % (describe(graph, circle),
                                          ', '.join(others))


class ImportCyclesTestCase(test.NoDBTestCase):

    def test_no_import_cycles(self):
        graph = import_graph(nova_modules())
        cycles = [describe_group(graph, group)
                  for group in circular_groups(graph)]
        self.assertEqual(
            [], cycles,
            'Import circles among nova modules ("a -> b": a imports b at '
            'module level; "a ~> b": inside a function):\n%s\nMove what '
            'both sides need into a module below them, so that the imports '
            'go one way.' % '\n'.join(cycles))


class ImportGraphTestCase(test.NoDBTestCase):
    """The checker itself, on a small package written for the test."""

    def setUp(self):
        super().setUp()
        self.root = os.path.join(
            self.useFixture(fixtures.TempDir()).path, 'pkg')

    def write(self, relpath, text):
        path = os.path.join(self.root, relpath)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w', encoding='utf-8') as f:
            f.write(text)

    def cycles(self):
        graph = import_graph(nova_modules(self.root))
        return [describe(graph, circle) for circle in import_cycles(graph)]

    def test_a_group_names_all_its_modules(self):
        self.write('__init__.py', '')
        self.write('a.py', 'from pkg import b\nfrom pkg import c\n')
        self.write('b.py', 'from pkg import a\n')
        self.write('c.py', 'def f():\n    import pkg.a\n')
        graph = import_graph(nova_modules(self.root))
        self.assertEqual(['pkg.a -> pkg.b -> pkg.a (in one group with '
                          'pkg.c)'],
                         [describe_group(graph, group)
                          for group in circular_groups(graph)])

    def test_module_level_circle_found_and_named(self):
        self.write('__init__.py', '')
        self.write('a.py', 'from pkg import b\n')
        self.write('b.py', 'import pkg.c\n')
        self.write('c.py', 'from . import a\n')
        self.write('d.py', 'from pkg import a\n')
        self.assertEqual(['pkg.a -> pkg.b -> pkg.c -> pkg.a'], self.cycles())

    def test_import_inside_a_function_makes_a_circle_too(self):
        self.write('__init__.py', '')
        self.write('a.py', 'from pkg import b\n')
        self.write('b.py', 'def f():\n    from pkg import a\n')
        self.assertEqual(['pkg.a -> pkg.b ~> pkg.a'], self.cycles())

    def test_import_in_try_or_class_body_runs_on_import(self):
        self.write('__init__.py', '')
        self.write('a.py', 'try:\n    from pkg import b\nexcept ImportError:'
                           '\n    pass\n')
        self.write('b.py', 'class K:\n    from pkg import a\n')
        self.assertEqual(['pkg.a -> pkg.b -> pkg.a'], self.cycles())

    def test_one_way_imports_are_no_circle(self):
        self.write('__init__.py', '')
        self.write('a.py', 'from pkg import b\nimport pkg.c\n')
        self.write('b.py', 'from pkg import c\n')
        self.write('c.py', 'import os\n')
        self.assertEqual([], self.cycles())

    def test_package_init_runs_before_its_modules(self):
        # Importing pkg.sub.x runs pkg/sub/__init__.py, which imports y.
        self.write('__init__.py', '')
        self.write('sub/__init__.py', 'from pkg.sub import y\n')
        self.write('sub/x.py', '')
        self.write('sub/y.py', 'from pkg import z\n')
        self.write('z.py', 'from pkg.sub import x\n')
        self.assertEqual(['pkg.sub -> pkg.sub.y -> pkg.z -> pkg.sub'],
                         self.cycles())

    def test_module_importing_siblings_through_its_package(self):
        # The package is set up before its modules: no circle through it.
        self.write('__init__.py', '')
        self.write('sub/__init__.py', 'from pkg.sub import x\n')
        self.write('sub/x.py', 'from pkg.sub import y\n')
        self.write('sub/y.py', '')
        self.assertEqual([], self.cycles())

    def test_name_from_the_package_init_is_an_import_of_it(self):
        self.write('__init__.py', '')
        self.write('sub/__init__.py', 'from pkg.sub import x\nNAME = 1\n')
        self.write('sub/x.py', 'from pkg.sub import NAME\n')
        self.assertEqual(['pkg.sub -> pkg.sub.x -> pkg.sub'], self.cycles())
