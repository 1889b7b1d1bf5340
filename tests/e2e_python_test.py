#!/usr/bin/python3
"""End to end with the Python client: a real duband, Debian's python3-grpcio.

Run by ctest (see tests/CMakeLists.txt); by hand:
  /usr/bin/python3 tests/e2e_python_test.py --duband build/services/duband \
      --dubanctl build/clients/dubanctl --plans plans --stubs build/python \
      --client clients/python
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

ARGS = None
PLAN = "qinghai-employment-2021"


class Server:
    """duband on 127.0.0.1:0 in a temporary data folder."""

    def __init__(self, data_dir):
        self.data_dir = data_dir
        self.proc = None
        self.port = None

    def start(self):
        port_file = self.data_dir + ".port"
        if os.path.exists(port_file):
            os.remove(port_file)
        self.log = open(self.data_dir + ".log", "ab")
        self.proc = subprocess.Popen(
            [ARGS.duband, "--listen=127.0.0.1:0", "--data_dir=" + self.data_dir,
             "--port_file=" + port_file,
             "--import_plan=" + os.path.join(ARGS.plans, PLAN, "plan.textproto")],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("duband exited with %d" % self.proc.returncode)
            try:
                with open(port_file) as f:
                    text = f.read().strip()
                if text:
                    self.port = int(text)
                    return self
            except FileNotFoundError:
                pass
            time.sleep(0.02)
        raise RuntimeError("duband did not start in 30 s")

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    @property
    def token(self):
        with open(os.path.join(self.data_dir, "admin.token")) as f:
            return f.read().strip()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)
        self.log.close()


class PythonClientTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="duban-py-")
        self.server = Server(os.path.join(self.tmp, "data")).start()
        self.client = DubanClient(self.server.address, self.server.token)

    def tearDown(self):
        self.server.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def agency_id(self, short_name):
        for a in self.client.list_agencies(PLAN).agencies:
            if a.short_name == short_name:
                return a.id
        self.fail("no agency " + short_name)

    def test_list_filter_assign_revoke_restart(self):
        tasks = self.client.list_tasks(PLAN)
        self.assertEqual([t.number for t in tasks], list(range(1, 45)))

        edu = self.agency_id("省教育厅")
        finance = self.agency_id("省财政厅")
        expected = {t.number for t in tasks if any(r.agency_id == edu for r in t.responsibilities)}
        got = {t.number for t in self.client.list_tasks(PLAN, agency_id=edu)}
        self.assertEqual(got, expected)
        self.assertIn(18, got)
        leads = {t.number for t in self.client.list_tasks(PLAN, agency_id=edu, role=plan_pb2.LEAD)}
        self.assertTrue(leads < got)
        self.assertIn(18, leads)
        self.assertNotIn(13, leads)

        task = self.client.assign(PLAN, 20, finance, plan_pb2.SUPPORT, "配合落实经费",
                                  request_id="py-assign-1")
        self.assertEqual([(r.agency_id, r.role) for r in task.responsibilities],
                         [(edu, plan_pb2.LEAD), (finance, plan_pb2.SUPPORT)])
        # A retry with the same request id returns the same task and writes nothing.
        revision = self.client.get_plan(PLAN).revision
        again = self.client.assign(PLAN, 20, finance, plan_pb2.SUPPORT, "配合落实经费",
                                   request_id="py-assign-1")
        self.assertEqual(again, task)
        self.assertEqual(self.client.get_plan(PLAN).revision, revision)

        task = self.client.revoke(PLAN, 20, finance, "撤回")
        self.assertEqual([r.agency_id for r in task.responsibilities], [edu])
        with self.assertRaises(grpc.RpcError) as err:
            self.client.revoke(PLAN, 20, edu, "撤回最后一个")
        self.assertEqual(err.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)

        with self.assertRaises(grpc.RpcError) as err:
            self.client.get_task(PLAN, 45)
        self.assertEqual(err.exception.code(), grpc.StatusCode.NOT_FOUND)

        self.client.assign(PLAN, 7, finance, plan_pb2.SHARED, "经费保障")
        before = [t.SerializeToString() for t in self.client.list_tasks(PLAN)]
        self.server.stop()
        self.server.start()
        self.client = DubanClient(self.server.address, self.server.token)
        after = [t.SerializeToString() for t in self.client.list_tasks(PLAN)]
        self.assertEqual(after, before)

    def test_non_utf8_text_is_invalid_argument_and_writes_nothing(self):
        finance = self.agency_id("省财政厅")
        req = assignment_pb2.AssignResponsibilityRequest(
            request_id="utf8", plan_id=PLAN, task_number=20, agency_id=finance,
            role=plan_pb2.SUPPORT, reason="ABCD")
        raw = req.SerializeToString().replace(b"ABCD", b"\xff\xfe\xfd\xfc")
        call = grpc.insecure_channel(self.server.address).unary_unary(
            "/duban.v1.AssignmentService/AssignResponsibility",
            request_serializer=lambda x: x, response_deserializer=lambda x: x)
        revision = self.client.get_plan(PLAN).revision
        md = [("authorization", "Bearer " + self.server.token)]
        with self.assertRaises(grpc.RpcError) as err:
            call(raw, metadata=md)
        self.assertEqual(err.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("reason: not valid UTF-8", err.exception.details())
        with self.assertRaises(grpc.RpcError) as err:
            call(b"\xff\xff\xff", metadata=md)
        self.assertEqual(err.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(self.client.get_plan(PLAN).revision, revision)

    def test_an_agency_reports_with_its_own_token(self):
        credential, token = self.client.issue_credential("agency:qh-hrss", plan_id=PLAN, label="py")
        self.assertEqual(credential.principal, "agency:qh-hrss")
        agency = DubanClient(self.server.address, token)
        report = agency.submit_progress(PLAN, 43, 2022, "on-track", "仲裁办案制度已完善",
                                        request_id="py-43")
        self.assertEqual(report.agency_id, "qh-hrss")
        self.assertEqual(report.principal, "agency:qh-hrss")
        self.assertEqual(report.kind, reporting_pb2.TASK_REPORT)
        again = agency.submit_progress(PLAN, 43, 2022, "on-track", "仲裁办案制度已完善",
                                       request_id="py-43")
        self.assertEqual(again, report)
        value = agency.submit_indicator_value(PLAN, 1, 2022, 6.3, source_note="快报")
        self.assertEqual(value.revision, 1)
        with self.assertRaises(grpc.RpcError) as err:
            agency.submit_progress(PLAN, 8, 2022, "on-track", "不是本单位任务")
        self.assertEqual(err.exception.code(), grpc.StatusCode.PERMISSION_DENIED)

    def test_wrong_token_is_unauthenticated(self):
        bad = DubanClient(self.server.address, "0" * 64)
        with self.assertRaises(grpc.RpcError) as err:
            bad.get_plan(PLAN)
        self.assertEqual(err.exception.code(), grpc.StatusCode.UNAUTHENTICATED)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--duband", required=True)
    parser.add_argument("--dubanctl", required=True)
    parser.add_argument("--plans", required=True)
    parser.add_argument("--stubs", required=True)
    parser.add_argument("--client", required=True)
    ARGS, rest = parser.parse_known_args()
    sys.path[:0] = [ARGS.stubs, ARGS.client]
    import grpc  # noqa: E402  (Debian's python3-grpcio)
    from duban.v1 import assignment_pb2, plan_pb2, reporting_pb2  # noqa: E402
    from duban_client import DubanClient  # noqa: E402
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
