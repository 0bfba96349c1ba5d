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

"""The demo's report: each check passes on good facts, fails on bad."""

import testtools

from nova.aio import checks


def _good_facts(**changes):
    facts = checks.MigrationFacts(
        source='compute-a', dest='compute-b', status='completed',
        instance_host='compute-b', source_namespaces=['ns0', 'ns1'],
        dest_namespaces=['ns0', 'ns1'],
        source_final_digests=['aa' * 32, 'bb' * 32],
        dest_digests=['aa' * 32, 'bb' * 32], writer_rate=100,
        pages_written=42, pages_lost=0, elapsed=2.0,
        bytes_moved=64 << 20, downtime_ms=12, iterations=3,
        hosts={
            'compute-a': checks.HostState(
                'compute-a', rt_assigned=[], db_assigned=[],
                placement_usage=0, zeroed={'ns0': True, 'ns1': True}),
            'compute-b': checks.HostState(
                'compute-b', rt_assigned=['ns0', 'ns1'],
                db_assigned=['ns1', 'ns0'], placement_usage=2),
        })
    for name, value in changes.items():
        setattr(facts, name, value)
    return facts


def _failed_names(facts):
    return [c.name for c in checks.failed(checks.evaluate(facts))]


class TestChecks(testtools.TestCase):

    def test_good_migration_passes_every_check(self):
        results = checks.evaluate(_good_facts())
        self.assertEqual([], checks.failed(results))
        names = [c.name for c in results]
        self.assertIn("destination vpmem == source's final contents", names)
        self.assertIn('placement, tracker and DB agree on compute-a', names)
        self.assertIn('placement, tracker and DB agree on compute-b', names)

    def test_status_not_completed(self):
        self.assertEqual(['migration completed'],
                         _failed_names(_good_facts(status='failed')))

    def test_server_left_on_source(self):
        self.assertIn('migration completed',
                      _failed_names(_good_facts(instance_host='compute-a')))

    def test_checksum_mismatch(self):
        facts = _good_facts(dest_digests=['aa' * 32, 'cc' * 32])
        self.assertEqual(["destination vpmem == source's final contents"],
                         _failed_names(facts))
        detail = checks.check_checksum(facts).detail
        self.assertIn('bbbbbbbbbbbb != cccccccccccc', detail)

    def test_source_contents_not_captured(self):
        facts = _good_facts(source_final_digests=[])
        self.assertEqual(["destination vpmem == source's final contents"],
                         _failed_names(facts))
        self.assertIn('not captured', checks.check_checksum(facts).detail)

    def test_lost_guest_writes(self):
        self.assertEqual(['guest writes during the migration all arrived'],
                         _failed_names(_good_facts(pages_lost=3)))

    def test_guest_writes_not_checked_fail(self):
        facts = _good_facts(pages_lost=None)
        self.assertEqual(['guest writes during the migration all arrived'],
                         _failed_names(facts))
        self.assertIn('not checked', checks.check_guest_writes(facts).detail)

    def test_busy_guest_that_wrote_nothing_proves_nothing(self):
        self.assertEqual(['guest writes during the migration all arrived'],
                         _failed_names(_good_facts(pages_written=0)))
        self.assertEqual([], _failed_names(_good_facts(pages_written=0,
                                                       writer_rate=0)))

    def test_source_namespace_not_erased(self):
        facts = _good_facts()
        facts.hosts['compute-a'].zeroed['ns1'] = False
        self.assertEqual(['source namespaces erased (read back as zeros)'],
                         _failed_names(facts))
        self.assertIn('holding data: ns1',
                      checks.check_source_erased(facts).detail)

    def test_source_namespace_still_assigned(self):
        facts = _good_facts()
        facts.hosts['compute-a'].rt_assigned = ['ns0']
        self.assertEqual(['source namespaces free',
                          'placement, tracker and DB agree on compute-a'],
                         _failed_names(facts))

    def test_source_placement_usage_left(self):
        facts = _good_facts()
        facts.hosts['compute-a'].placement_usage = 2
        self.assertEqual(['source namespaces free',
                          'placement, tracker and DB agree on compute-a'],
                         _failed_names(facts))

    def test_tracker_and_db_disagree_on_destination(self):
        facts = _good_facts()
        facts.hosts['compute-b'].db_assigned = ['ns0']
        self.assertEqual(['placement, tracker and DB agree on compute-b'],
                         _failed_names(facts))

    def test_destination_without_namespaces(self):
        facts = _good_facts(dest_namespaces=[])
        self.assertEqual(['destination namespaces assigned to the server'],
                         _failed_names(facts))

    def test_summary_rows(self):
        rows = dict(checks.summary_rows(_good_facts()))
        self.assertEqual('compute-a -> compute-b', rows['from -> to'])
        self.assertEqual('64.0 MiB (32.0 MiB/s)', rows['bytes moved'])
        self.assertEqual('12 ms', rows['downtime'])
        self.assertEqual('3', rows['iterations'])

    def test_human_bytes(self):
        self.assertEqual('512 B', checks.human_bytes(512))
        self.assertEqual('1.5 KiB', checks.human_bytes(1536))
        self.assertEqual('3.0 GiB', checks.human_bytes(3 << 30))

    def test_guest_checked_content_replaces_checksums(self):
        stamps = checks.Check(checks.GUEST_STAMPS, True, 'OK')
        facts = _good_facts(content_check=stamps, source_final_digests=[],
                            pages_written=0)
        results = checks.evaluate(facts)
        self.assertEqual([], checks.failed(results))
        self.assertIn(stamps, results)
        names = [c.name for c in results]
        self.assertNotIn("destination vpmem == source's final contents",
                         names)
        self.assertNotIn('guest page writes while migrating',
                         dict(checks.summary_rows(facts)))

    def test_guest_found_bad_stamps(self):
        stamps = checks.Check(checks.GUEST_STAMPS, False, 'page 3: zeros')
        self.assertEqual([checks.GUEST_STAMPS], _failed_names(
            _good_facts(content_check=stamps)))
