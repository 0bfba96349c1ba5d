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

"""The power actions of the compute API (power_api) and of the compute
manager (power), on the real database with a mocked driver and RPC."""

import datetime
from unittest import mock

from oslo_utils import timeutils
from oslo_utils import uuidutils

from nova.compute import api as compute_api
from nova.compute import power as compute_power
from nova.compute import power_api
from nova.compute import power_state
from nova.compute import rpcapi as compute_rpcapi
from nova.compute import task_states
from nova.compute import vm_states
from nova import context as nova_context
from nova.db import api as db_api
from nova import exception
from nova import objects
from nova import test
from nova.virt import driver as virt_driver


class PowerTestBase(test.TestCase):

    def setUp(self):
        super().setUp()
        self.context = nova_context.RequestContext(
            user_id='fake-user', project_id='fake-project', is_admin=True,
            request_id='req-power-test')
        self.flavor = objects.Flavor(
            self.context, name='small', flavorid='small', memory_mb=128,
            vcpus=1, root_gb=0, ephemeral_gb=0, swap=0, disabled=False,
            is_public=True, extra_specs={'hw:pmem': 'SMALL'})
        self.flavor.create()

    def create_instance(self, **values):
        fields_ = dict(uuid=uuidutils.generate_uuid(),
                       user_id='fake-user', project_id='fake-project',
                       display_name='guest', flavor=self.flavor,
                       host='compute-a', node='compute-a',
                       vm_state=vm_states.ACTIVE,
                       power_state=power_state.RUNNING, task_state=None)
        fields_.update(values)
        instance = objects.Instance(self.context, **fields_)
        instance.create()
        return instance

    def reload(self, instance):
        return objects.Instance.get_by_uuid(self.context, instance.uuid)

    def actions(self, instance):
        return objects.InstanceActionList.get_by_instance_uuid(
            self.context, instance.uuid)


class PowerAPITestCase(PowerTestBase):

    def setUp(self):
        super().setUp()
        self.api = compute_api.API()
        self.api.compute_rpcapi = mock.Mock()
        self.rpc = self.api.compute_rpcapi

    # (call, vm_state before, task_state taken, rpc method, rpc kwargs)
    ACCEPTED = [
        (lambda api, c, i: api.stop(c, i), vm_states.ACTIVE,
         task_states.POWERING_OFF, 'stop_instance',
         {'clean_shutdown': True}),
        (lambda api, c, i: api.stop(c, i), vm_states.ERROR,
         task_states.POWERING_OFF, 'stop_instance',
         {'clean_shutdown': True}),
        (lambda api, c, i: api.start(c, i), vm_states.STOPPED,
         task_states.POWERING_ON, 'start_instance', {}),
        (lambda api, c, i: api.reboot(c, i, 'SOFT'), vm_states.ACTIVE,
         task_states.REBOOTING, 'reboot_instance', {'reboot_type': 'SOFT'}),
        (lambda api, c, i: api.reboot(c, i, 'HARD'), vm_states.STOPPED,
         task_states.REBOOTING_HARD, 'reboot_instance',
         {'reboot_type': 'HARD'}),
        (lambda api, c, i: api.reboot(c, i, 'HARD'), vm_states.PAUSED,
         task_states.REBOOTING_HARD, 'reboot_instance',
         {'reboot_type': 'HARD'}),
        (lambda api, c, i: api.pause(c, i), vm_states.ACTIVE,
         task_states.PAUSING, 'pause_instance', {}),
        (lambda api, c, i: api.unpause(c, i), vm_states.PAUSED,
         task_states.UNPAUSING, 'unpause_instance', {}),
    ]

    def test_accepted_actions_take_the_instance_and_cast(self):
        for call, vm_state, task_state, method, kwargs in self.ACCEPTED:
            instance = self.create_instance(vm_state=vm_state)
            self.rpc.reset_mock()
            call(self.api, self.context, instance)
            current = self.reload(instance)
            self.assertEqual((vm_state, task_state),
                             (current.vm_state, current.task_state))
            getattr(self.rpc, method).assert_called_once_with(
                self.context, instance, **kwargs)
            action = self.actions(instance)[0]
            self.assertEqual('req-power-test', action.request_id)

    def test_action_names(self):
        instance = self.create_instance()
        self.api.reboot(self.context, instance, 'HARD')
        self.assertEqual(['reboot'],
                         [a.action for a in self.actions(instance)])

    # (call, vm_state, task_state) that must be refused
    REFUSED = [
        (lambda api, c, i: api.stop(c, i), vm_states.STOPPED, None),
        (lambda api, c, i: api.stop(c, i), vm_states.PAUSED, None),
        (lambda api, c, i: api.stop(c, i), vm_states.RESIZED, None),
        (lambda api, c, i: api.stop(c, i), vm_states.ACTIVE,
         task_states.MIGRATING),
        (lambda api, c, i: api.start(c, i), vm_states.ACTIVE, None),
        (lambda api, c, i: api.start(c, i), vm_states.STOPPED,
         task_states.POWERING_ON),
        (lambda api, c, i: api.reboot(c, i, 'SOFT'), vm_states.STOPPED,
         None),
        (lambda api, c, i: api.reboot(c, i, 'SOFT'), vm_states.ACTIVE,
         task_states.REBOOTING),
        (lambda api, c, i: api.reboot(c, i, 'HARD'), vm_states.ACTIVE,
         task_states.MIGRATING),
        (lambda api, c, i: api.reboot(c, i, 'HARD'), vm_states.ACTIVE,
         task_states.RESIZE_MIGRATING),
        (lambda api, c, i: api.pause(c, i), vm_states.PAUSED, None),
        (lambda api, c, i: api.pause(c, i), vm_states.ACTIVE,
         task_states.MIGRATING),
        (lambda api, c, i: api.unpause(c, i), vm_states.ACTIVE, None),
    ]

    def test_refused_states_change_nothing(self):
        for call, vm_state, task_state in self.REFUSED:
            instance = self.create_instance(vm_state=vm_state,
                                            task_state=task_state)
            exc = self.assertRaises(exception.InstanceInvalidState, call,
                                    self.api, self.context, instance)
            self.assertIn(str(task_state or vm_state), exc.format_message())
            current = self.reload(instance)
            self.assertEqual((vm_state, task_state),
                             (current.vm_state, current.task_state))
            self.assertEqual([], list(self.actions(instance)))
        self.assertEqual([], self.rpc.mock_calls)

    def test_hard_reboot_takes_over_a_soft_one(self):
        instance = self.create_instance(task_state=task_states.REBOOTING)
        self.api.reboot(self.context, instance, 'HARD')
        self.assertEqual(task_states.REBOOTING_HARD,
                         self.reload(instance).task_state)

    def test_instance_without_host_is_not_ready(self):
        instance = self.create_instance(vm_state=vm_states.ERROR, host=None)
        exc = self.assertRaises(exception.InstanceNotReady, self.api.stop,
                                self.context, instance)
        self.assertIn('no compute host', exc.format_message())
        self.assertIsNone(self.reload(instance).task_state)

    def test_compare_and_swap_refuses_a_stale_copy(self):
        instance = self.create_instance()
        stale = self.reload(instance)
        self.api.pause(self.context, instance)
        self.assertRaises(exception.UnexpectedTaskStateError, self.api.stop,
                          self.context, stale)
        self.assertEqual(task_states.PAUSING,
                         self.reload(instance).task_state)
        self.rpc.stop_instance.assert_not_called()

    def test_failed_cast_gives_the_instance_back(self):
        instance = self.create_instance()
        self.rpc.stop_instance.side_effect = exception.RPCPinnedToOldVersion(
            method='stop_instance', needed='1.5', pinned='1.4',
            host='compute-a')
        self.assertRaises(exception.RPCPinnedToOldVersion, self.api.stop,
                          self.context, instance)
        current = self.reload(instance)
        self.assertEqual((vm_states.ACTIVE, None),
                         (current.vm_state, current.task_state))
        self.assertEqual('Error', self.actions(instance)[0].message)

    def test_rules_follow_nova(self):
        rules = power_api.RULES
        self.assertEqual((vm_states.ACTIVE, vm_states.ERROR),
                         rules['stop'].vm_states)
        self.assertEqual((vm_states.ACTIVE,), rules['reboot_soft'].vm_states)
        self.assertIn(task_states.REBOOTING, rules['reboot_hard'].task_states)


class FakeManager(compute_power.PowerMixin):
    host = 'compute-a'

    def __init__(self):
        self.driver = mock.Mock()
        self.driver.get_info.return_value = virt_driver.InstanceInfo(
            state=power_state.RUNNING)
        self.compute_rpcapi = mock.Mock()
        self.terminate_instance = mock.Mock()
        self._init_power()


class PowerManagerTestCase(PowerTestBase):

    def setUp(self):
        super().setUp()
        self.manager = FakeManager()
        self.driver = self.manager.driver
        self.flags(shutdown_timeout=7, group='compute')

    def taken(self, vm_state, task_state, action):
        instance = self.create_instance(vm_state=vm_state,
                                        task_state=task_state)
        objects.InstanceAction.action_start(self.context, instance.uuid,
                                            action)
        return instance

    def hypervisor_says(self, state):
        self.driver.get_info.return_value = virt_driver.InstanceInfo(
            state=state)

    def assert_done(self, instance, vm_state, power, event):
        current = self.reload(instance)
        self.assertEqual((vm_state, None, power),
                         (current.vm_state, current.task_state,
                          current.power_state))
        action = self.actions(instance)[0]
        self.assertIsNotNone(action.finish_time)
        self.assertIsNone(action.message)
        events = objects.InstanceActionEventList.get_by_action(
            self.context, action.id)
        self.assertEqual([(event, 'Success')],
                         [(e.event, e.result) for e in events])

    def test_stop(self):
        instance = self.taken(vm_states.ACTIVE, task_states.POWERING_OFF,
                              'stop')
        self.hypervisor_says(power_state.SHUTDOWN)
        self.manager.stop_instance(self.context, instance)
        self.driver.power_off.assert_called_once_with(instance, timeout=7)
        self.assert_done(instance, vm_states.STOPPED, power_state.SHUTDOWN,
                         'compute_stop_instance')

    def test_stop_without_clean_shutdown(self):
        instance = self.taken(vm_states.ACTIVE, task_states.POWERING_OFF,
                              'stop')
        self.manager.stop_instance(self.context, instance,
                                   clean_shutdown=False)
        self.driver.power_off.assert_called_once_with(instance, timeout=0)

    def test_start(self):
        instance = self.taken(vm_states.STOPPED, task_states.POWERING_ON,
                              'start')
        self.manager.start_instance(self.context, instance)
        self.driver.power_on.assert_called_once_with(self.context, instance)
        self.assert_done(instance, vm_states.ACTIVE, power_state.RUNNING,
                         'compute_start_instance')

    def test_pause_and_unpause(self):
        instance = self.taken(vm_states.ACTIVE, task_states.PAUSING, 'pause')
        self.hypervisor_says(power_state.PAUSED)
        self.manager.pause_instance(self.context, instance)
        self.driver.pause.assert_called_once_with(instance)
        self.assert_done(instance, vm_states.PAUSED, power_state.PAUSED,
                         'compute_pause_instance')
        instance = self.taken(vm_states.PAUSED, task_states.UNPAUSING,
                              'unpause')
        self.hypervisor_says(power_state.RUNNING)
        self.manager.unpause_instance(self.context, instance)
        self.driver.unpause.assert_called_once_with(instance)
        self.assert_done(instance, vm_states.ACTIVE, power_state.RUNNING,
                         'compute_unpause_instance')

    def test_reboot(self):
        for reboot_type, task_state, vm_state in (
                ('SOFT', task_states.REBOOTING, vm_states.ACTIVE),
                ('HARD', task_states.REBOOTING_HARD, vm_states.STOPPED)):
            instance = self.taken(vm_state, task_state, 'reboot')
            self.driver.reset_mock()
            self.manager.reboot_instance(self.context, instance, reboot_type)
            self.driver.reboot.assert_called_once_with(
                self.context, instance, reboot_type, timeout=7)
            self.assert_done(instance, vm_states.ACTIVE, power_state.RUNNING,
                             'compute_reboot_instance')

    def test_failure_keeps_vm_state_clears_task_state_records_why(self):
        instance = self.taken(vm_states.ACTIVE, task_states.POWERING_OFF,
                              'stop')
        self.driver.power_off.side_effect = exception.InstancePowerOffFailure(
            instance_uuid=instance.uuid, reason='stuck')
        self.manager.stop_instance(self.context, instance)
        current = self.reload(instance)
        self.assertEqual((vm_states.ACTIVE, None, power_state.RUNNING),
                         (current.vm_state, current.task_state,
                          current.power_state))
        action = self.actions(instance)[0]
        self.assertEqual('Error', action.message)
        events = objects.InstanceActionEventList.get_by_action(
            self.context, action.id)
        self.assertEqual(['Error'], [e.result for e in events])
        self.assertIn('stuck', events[0].details)
        fault = objects.InstanceFault.get_latest_for_instance(
            self.context, instance.uuid)
        self.assertIn('stuck', fault.message)

    def test_instance_taken_over_is_left_to_the_other_request(self):
        # A hard reboot took over before the soft one ran here.
        instance = self.taken(vm_states.ACTIVE, task_states.REBOOTING_HARD,
                              'reboot')
        self.manager.reboot_instance(self.context, instance, 'SOFT')
        self.driver.reboot.assert_not_called()
        self.assertEqual(task_states.REBOOTING_HARD,
                         self.reload(instance).task_state)

    def test_taken_over_while_running_does_not_clear_the_new_task(self):
        instance = self.taken(vm_states.ACTIVE, task_states.REBOOTING,
                              'reboot')

        def hard_reboot_arrives(*args, **kwargs):
            other = self.reload(instance)
            other.task_state = task_states.REBOOTING_HARD
            other.save()

        self.driver.reboot.side_effect = hard_reboot_arrives
        self.manager.reboot_instance(self.context, instance, 'SOFT')
        self.assertEqual(task_states.REBOOTING_HARD,
                         self.reload(instance).task_state)


class SettleAtStartTestCase(PowerManagerTestCase):
    """What a service that died during a power action left, finished."""

    def test_each_interrupted_action_is_finished(self):
        cases = [
            (vm_states.ACTIVE, task_states.POWERING_OFF, 'stop',
             power_state.SHUTDOWN, vm_states.STOPPED),
            (vm_states.STOPPED, task_states.POWERING_ON, 'start',
             power_state.RUNNING, vm_states.ACTIVE),
            (vm_states.ACTIVE, task_states.PAUSING, 'pause',
             power_state.PAUSED, vm_states.PAUSED),
            (vm_states.PAUSED, task_states.UNPAUSING, 'unpause',
             power_state.RUNNING, vm_states.ACTIVE),
        ]
        for vm_state, task_state, action, after, done in cases:
            instance = self.taken(vm_state, task_state, action)
            self.hypervisor_says(after)
            self.manager._settle_power_actions(self.context)
            current = self.reload(instance)
            self.assertEqual((done, None), (current.vm_state,
                                            current.task_state), action)
        self.driver.power_off.assert_called_once_with(mock.ANY, timeout=0)
        self.driver.power_on.assert_called_once()
        self.driver.pause.assert_called_once()
        self.driver.unpause.assert_called_once()

    def test_an_interrupted_delete_is_run_again(self):
        instance = self.taken(vm_states.ACTIVE, task_states.DELETING,
                              'delete')
        self.manager._settle_power_actions(self.context)
        self.manager.terminate_instance.assert_called_once_with(
            self.context, mock.ANY)
        self.assertEqual(
            instance.uuid,
            self.manager.terminate_instance.call_args.args[1].uuid)
        self.assertEqual([], self.driver.mock_calls)

    def test_reboot_of_a_running_guest_is_done_without_another(self):
        instance = self.taken(vm_states.ACTIVE, task_states.REBOOTING,
                              'reboot')
        self.manager._settle_power_actions(self.context)
        self.driver.reboot.assert_not_called()
        self.assert_done(instance, vm_states.ACTIVE, power_state.RUNNING,
                         'compute_reboot_instance')

    def test_reboot_of_a_stopped_guest_is_made_hard(self):
        instance = self.taken(vm_states.ACTIVE, task_states.REBOOTING,
                              'reboot')
        states = iter([power_state.SHUTDOWN, power_state.RUNNING])
        self.driver.get_info.side_effect = lambda i: (
            virt_driver.InstanceInfo(state=next(states)))
        self.manager._settle_power_actions(self.context)
        self.driver.reboot.assert_called_once_with(self.context, mock.ANY,
                                                   'HARD')
        self.assertEqual((vm_states.ACTIVE, None),
                         (self.reload(instance).vm_state,
                          self.reload(instance).task_state))

    def test_other_instances_and_states_are_left_alone(self):
        idle = self.create_instance()
        migrating = self.create_instance(task_state=task_states.MIGRATING)
        elsewhere = self.create_instance(task_state=task_states.POWERING_OFF,
                                         host='compute-b')
        self.manager._settle_power_actions(self.context)
        self.assertEqual([], self.driver.mock_calls)
        self.assertIsNone(self.reload(idle).task_state)
        self.assertEqual(task_states.MIGRATING,
                         self.reload(migrating).task_state)
        self.assertEqual(task_states.POWERING_OFF,
                         self.reload(elsewhere).task_state)

    def test_one_failure_does_not_stop_the_others(self):
        self.taken(vm_states.ACTIVE, task_states.PAUSING, 'pause')
        self.taken(vm_states.PAUSED, task_states.UNPAUSING, 'unpause')
        with mock.patch.object(self.manager, '_power_action',
                               side_effect=[RuntimeError('boom'), None]
                               ) as action:
            self.manager._settle_power_actions(self.context)
        self.assertEqual(2, action.call_count)


class ResendLostRequestsTestCase(PowerManagerTestCase):
    """The periodic sweep sends again a power request that never came."""

    def setUp(self):
        super().setUp()
        self.flags(power_action_stuck_timeout=60, group='compute')
        self.rpc = self.manager.compute_rpcapi

    def aged(self, task_state, seconds=61, **values):
        instance = self.create_instance(task_state=task_state, **values)
        db_api.instance_update(
            self.context, instance.uuid,
            {'updated_at': timeutils.utcnow() -
             datetime.timedelta(seconds=seconds)})
        return instance

    def sweep(self):
        return self.manager._resend_lost_power_requests(self.context)

    def test_each_task_state_gets_its_request_again(self):
        cases = [
            (task_states.POWERING_OFF, 'stop_instance',
             {'clean_shutdown': True}),
            (task_states.POWERING_ON, 'start_instance', {}),
            (task_states.PAUSING, 'pause_instance', {}),
            (task_states.UNPAUSING, 'unpause_instance', {}),
            (task_states.REBOOTING, 'reboot_instance',
             {'reboot_type': 'SOFT'}),
            (task_states.REBOOTING_HARD, 'reboot_instance',
             {'reboot_type': 'HARD'}),
            (task_states.DELETING, 'terminate_instance', {}),
        ]
        for task_state, method, kwargs in cases:
            self.rpc.reset_mock()
            instance = self.aged(task_state)
            self.assertEqual([instance.uuid], self.sweep())
            call = getattr(self.rpc, method)
            call.assert_called_once()
            args = call.call_args
            self.assertEqual(instance.uuid, args.args[1].uuid)
            self.assertEqual(kwargs, args.kwargs)
            # Done with it: the next case's instance only.
            db_api.instance_update(self.context, instance.uuid,
                                   {'task_state': None})
        # Nothing was run here by the sweep itself.
        self.assertEqual([], self.driver.mock_calls)

    def test_recent_running_or_other_states_are_left_alone(self):
        self.aged(task_states.POWERING_OFF, seconds=30)       # on its way
        self.aged(task_states.MIGRATING)
        self.aged(None)
        self.aged(task_states.PAUSING, host='compute-b')
        running = self.aged(task_states.POWERING_ON)
        self.manager._power_running[running.uuid] += 1
        self.assertEqual([], self.sweep())
        self.assertEqual([], self.rpc.mock_calls)

    def test_sent_again_once_per_timeout(self):
        instance = self.aged(task_states.PAUSING)
        self.assertEqual([instance.uuid], self.sweep())
        self.assertEqual([], self.sweep())
        self.rpc.pause_instance.assert_called_once()
        # The timeout passed again and it still did not run: once more.
        uuid, (state, at) = next(iter(self.manager._power_resent.items()))
        self.manager._power_resent[uuid] = (state, at - 61)
        self.assertEqual([instance.uuid], self.sweep())
        self.assertEqual(2, self.rpc.pause_instance.call_count)

    def test_the_request_sent_again_runs_once_and_a_late_one_does_nothing(
            self):
        instance = self.aged(task_states.PAUSING)
        objects.InstanceAction.action_start(self.context, instance.uuid,
                                            'pause')
        self.sweep()
        self.hypervisor_says(power_state.PAUSED)
        # The request sent again runs; the lost one, if it comes late,
        # finds the task_state cleared.
        for _ in range(2):
            self.manager.pause_instance(self.context, instance)
        self.driver.pause.assert_called_once()
        self.assertEqual((vm_states.PAUSED, None),
                         (self.reload(instance).vm_state,
                          self.reload(instance).task_state))
        self.assertEqual({}, self.manager._power_resent)
        self.assertEqual({}, dict(self.manager._power_running))

    def test_a_failed_send_is_tried_at_the_next_sweep(self):
        instance = self.aged(task_states.POWERING_OFF)
        self.rpc.stop_instance.side_effect = [
            exception.NovaException('the queue is away'), None]
        self.assertEqual([], self.sweep())
        self.assertEqual([instance.uuid], self.sweep())
        self.assertEqual(2, self.rpc.stop_instance.call_count)


class PowerRPCTestCase(test.NoDBTestCase):

    CALLS = [
        ('stop_instance', {'clean_shutdown': False}),
        ('start_instance', {}),
        ('reboot_instance', {'reboot_type': 'HARD'}),
        ('pause_instance', {}),
        ('unpause_instance', {}),
    ]

    def test_casts_to_the_instance_host_at_1_5(self):
        instance = objects.Instance(uuid=uuidutils.generate_uuid(),
                                    host='compute-b')
        api = compute_rpcapi.ComputeAPI(version_cap='1.5')
        client = mock.Mock()
        client.can_send_version.return_value = True
        api._client = client
        for method, kwargs in self.CALLS:
            client.reset_mock()
            getattr(api, method)('ctxt', instance, **kwargs)
            client.prepare.assert_called_once_with(server='compute-b',
                                                   version='1.5')
            client.prepare.return_value.cast.assert_called_once_with(
                'ctxt', method, instance=instance, **kwargs)

    def test_older_compute_is_refused_before_sending(self):
        instance = objects.Instance(uuid=uuidutils.generate_uuid(),
                                    host='compute-b')
        api = compute_rpcapi.ComputeAPI(version_cap='1.4')
        for method, kwargs in self.CALLS:
            exc = self.assertRaises(exception.RPCPinnedToOldVersion,
                                    getattr(api, method), 'ctxt', instance,
                                    **kwargs)
            self.assertIn(method, exc.format_message())
