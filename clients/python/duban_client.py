#!/usr/bin/python3
"""A small Python client of duban's services (package duban.v1):
AssignmentService, ReportingService and AdminService.

    from duban_client import DubanClient

    with DubanClient("127.0.0.1:50051", token) as client:
        for task in client.list_tasks("qinghai-employment-2021", agency_id="qh-edu"):
            print(task.number, task.text)
        client.submit_progress("qinghai-employment-2021", 12, 2023, "on-track",
                               "组织专场招聘会120场", percent_complete=60)

Every call sends ``authorization: Bearer <token>`` (none when ``token`` is
empty, e.g. when a TLS client certificate identifies the caller) and has a
deadline of ``timeout`` seconds; failures raise ``grpc.RpcError``
(``.code()``, ``.details()``). Writes take a ``request_id``: retrying with the
same id is safe (the server answers the original result and writes nothing).
TLS: pass ``root_certificates`` (PEM bytes) and, for mutual TLS,
``private_key`` and ``certificate_chain``; ``server_name`` overrides the name
checked against the server's certificate.

Needs the stubs the CMake build generates into ``<build>/python`` (put it on
PYTHONPATH) and Debian's python3-grpcio and python3-protobuf, i.e. run it
with /usr/bin/python3. As a script it lists tasks:

    PYTHONPATH=build/python /usr/bin/python3 clients/python/duban_client.py \\
        --token-file data/admin.token tasks --agency qh-edu
"""

import argparse
import hashlib
import os
import secrets
import sys
import unicodedata

_SYSTEM_PYTHON = "/usr/bin/python3"


def _rerun_with_system_python():
    """Re-executes this script with Debian's python3 (which has grpcio) once."""
    if (__name__ == "__main__" and os.path.realpath(sys.executable) != os.path.realpath(_SYSTEM_PYTHON)
            and os.access(_SYSTEM_PYTHON, os.X_OK) and not os.environ.get("DUBAN_CLIENT_REEXEC")):
        os.environ["DUBAN_CLIENT_REEXEC"] = "1"
        os.execv(_SYSTEM_PYTHON, [_SYSTEM_PYTHON, os.path.abspath(__file__)] + sys.argv[1:])


def _missing(message, error):
    if __name__ == "__main__":
        sys.exit(f"duban_client: {message} ({error})")
    raise ImportError(message) from error


try:
    import grpc
except ImportError as error:
    _rerun_with_system_python()
    _missing("needs grpcio and protobuf: run it with Debian's /usr/bin/python3 "
             "(packages python3-grpcio, python3-protobuf)", error)

try:
    from duban.v1 import (admin_pb2, admin_pb2_grpc, assignment_pb2, assignment_pb2_grpc, plan_pb2,
                          reporting_pb2, reporting_pb2_grpc)
except ImportError as error:
    _missing("needs the generated duban.v1 stubs: build the project (they land in "
             "<build>/python) and set PYTHONPATH=<build>/python", error)

DEFAULT_SERVER = "127.0.0.1:50051"
DEFAULT_PLAN = "qinghai-employment-2021"

_ROLE_NAMES = {
    "lead": plan_pb2.LEAD, "牵头": plan_pb2.LEAD, "牵头负责": plan_pb2.LEAD,
    "shared": plan_pb2.SHARED, "按职责分工负责": plan_pb2.SHARED,
    "support": plan_pb2.SUPPORT, "配合": plan_pb2.SUPPORT,
}
_ROLE_LETTERS = {plan_pb2.LEAD: "L", plan_pb2.SHARED: "S", plan_pb2.SUPPORT: "C"}


def parse_role(role):
    """The duban.v1.Role for an enum value, "lead"/"LEAD"/"牵头", etc."""
    if isinstance(role, int):
        return role
    value = _ROLE_NAMES.get(role.strip().lower())
    if value is None:
        raise ValueError(f"{role!r} is not a role: use lead, shared or support (牵头, 按职责分工负责, 配合)")
    return value


_STATUSES = (
    (reporting_pb2.NOT_STARTED, "not-started", "未开始"),
    (reporting_pb2.ON_TRACK, "on-track", "按计划推进"),
    (reporting_pb2.AT_RISK, "at-risk", "有风险"),
    (reporting_pb2.BEHIND, "behind", "滞后"),
    (reporting_pb2.COMPLETED, "completed", "已完成"),
)


def parse_status(status):
    """The duban.v1.ProgressStatus for an enum value, "on-track"/"ON_TRACK"/"按计划推进", etc."""
    if isinstance(status, int):
        return status
    word = status.strip().lower().replace("_", "-").replace(" ", "-")
    for value, name, chinese in _STATUSES:
        if word in (name, chinese):
            return value
    raise ValueError(f"{status!r} is not a status: use not-started, on-track, at-risk, behind or "
                     "completed (未开始, 按计划推进, 有风险, 滞后, 已完成)")


def new_token():
    """A new bearer token (32 random bytes as 64 hex digits) and its hex SHA-256, as the server stores it."""
    token = secrets.token_hex(32)
    return token, hashlib.sha256(token.encode("ascii")).hexdigest()


def make_channel(address, root_certificates=None, private_key=None, certificate_chain=None,
                 server_name=None, tls=None):
    """A plaintext channel, or a TLS one when ``tls`` or any certificate argument is given (PEM bytes)."""
    if tls is None:
        tls = bool(root_certificates or certificate_chain)
    if not tls:
        if private_key or server_name:
            raise ValueError("private_key and server_name need TLS (root_certificates or certificate_chain)")
        return grpc.insecure_channel(address)
    if bool(private_key) != bool(certificate_chain):
        raise ValueError("a client certificate needs both private_key and certificate_chain")
    credentials = grpc.ssl_channel_credentials(root_certificates=root_certificates, private_key=private_key,
                                               certificate_chain=certificate_chain)
    options = [("grpc.ssl_target_name_override", server_name)] if server_name else []
    return grpc.secure_channel(address, credentials, options=options)


def new_request_id():
    """A fresh random 128-bit request id, as 32 hex digits."""
    return secrets.token_hex(16)


class DubanClient:
    """duban's services behind plain methods returning duban.v1 messages."""

    def __init__(self, address, token, timeout=10, channel=None, root_certificates=None, private_key=None,
                 certificate_chain=None, server_name=None):
        if channel is None:
            channel = make_channel(address, root_certificates=root_certificates, private_key=private_key,
                                   certificate_chain=certificate_chain, server_name=server_name)
        self._channel = channel
        self._stub = assignment_pb2_grpc.AssignmentServiceStub(self._channel)
        self._reporting = reporting_pb2_grpc.ReportingServiceStub(self._channel)
        self._admin = admin_pb2_grpc.AdminServiceStub(self._channel)
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self._timeout = timeout

    def close(self):
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _call(self, method, request):
        return method(request, metadata=self._metadata, timeout=self._timeout)

    def list_tasks(self, plan_id, agency_id=None, role=None):
        """Every matching task (all pages), as a list of duban.v1.Task."""
        request = assignment_pb2.ListTasksRequest(plan_id=plan_id, agency_id=agency_id or "",
                                                  page_size=500)
        if role is not None:
            request.role = parse_role(role)
        tasks = []
        while True:
            response = self._call(self._stub.ListTasks, request)
            tasks.extend(response.tasks)
            if not response.next_page_token:
                return tasks
            if response.next_page_token == request.page_token:
                raise RuntimeError(f"ListTasks repeated page token {request.page_token!r}")
            request.page_token = response.next_page_token

    def get_task(self, plan_id, number):
        return self._call(self._stub.GetTask,
                          assignment_pb2.GetTaskRequest(plan_id=plan_id, number=number))

    def list_agencies(self, plan_id):
        """The ListAgenciesResponse: .agencies and .groups."""
        return self._call(self._stub.ListAgencies, assignment_pb2.ListAgenciesRequest(plan_id=plan_id))

    def list_indicators(self, plan_id):
        """The plan's indicators, as a list of duban.v1.Indicator."""
        response = self._call(self._stub.ListIndicators,
                              assignment_pb2.ListIndicatorsRequest(plan_id=plan_id))
        return list(response.indicators)

    def get_plan(self, plan_id):
        return self._call(self._stub.GetPlan, assignment_pb2.GetPlanRequest(plan_id=plan_id))

    def assign(self, plan_id, task, agency_id, role, reason, request_id=None):
        """Gives the agency `role` on the task; returns the updated Task."""
        request = assignment_pb2.AssignResponsibilityRequest(
            request_id=request_id or new_request_id(), plan_id=plan_id, task_number=task,
            agency_id=agency_id, role=parse_role(role), reason=reason)
        return self._call(self._stub.AssignResponsibility, request)

    def revoke(self, plan_id, task, agency_id, reason, request_id=None):
        """Takes the agency off the task; returns the updated Task."""
        request = assignment_pb2.RevokeResponsibilityRequest(
            request_id=request_id or new_request_id(), plan_id=plan_id, task_number=task,
            agency_id=agency_id, reason=reason)
        return self._call(self._stub.RevokeResponsibility, request)

    # --- ReportingService

    def submit_progress(self, plan_id, task, year, status, summary, measures="", evidence_refs=(),
                        percent_complete=None, agency_id=None, expected_revision=None, request_id=None):
        """Reports a year's progress on a task; returns the stored duban.v1.ProgressReport.

        From a LEAD it is the task's report, from another agency on the task its contribution.
        ``status``: a ProgressStatus or "on-track", "ON_TRACK", 按计划推进, .... ``agency_id``: the
        agency reported for (admin only; an agency's own token leaves it out). ``expected_revision``:
        the revision this one replaces (0: it must be the first); mismatch -> FAILED_PRECONDITION.
        """
        request = reporting_pb2.SubmitProgressRequest(
            request_id=request_id or new_request_id(), plan_id=plan_id, task_number=task, year=year,
            status=parse_status(status), summary=summary, measures=measures, evidence_refs=list(evidence_refs),
            agency_id=agency_id or "")
        if percent_complete is not None:
            request.percent_complete = percent_complete
        if expected_revision is not None:
            request.expected_revision = expected_revision
        return self._call(self._reporting.SubmitProgress, request)

    def submit_indicator_value(self, plan_id, indicator, year, value, source_note="", agency_id=None,
                               expected_revision=None, request_id=None):
        """Reports an indicator's value for a year; returns the stored duban.v1.IndicatorValue."""
        request = reporting_pb2.SubmitIndicatorValueRequest(
            request_id=request_id or new_request_id(), plan_id=plan_id, indicator_number=indicator, year=year,
            value=value, source_note=source_note, agency_id=agency_id or "")
        if expected_revision is not None:
            request.expected_revision = expected_revision
        return self._call(self._reporting.SubmitIndicatorValue, request)

    def get_task_progress(self, plan_id, task, year=0):
        """The duban.v1.TaskProgress: per year the task report(s), contributions and history (year 0: all)."""
        return self._call(self._reporting.GetTaskProgress,
                          reporting_pb2.GetTaskProgressRequest(plan_id=plan_id, task_number=task, year=year))

    def get_indicator_series(self, plan_id, indicator, tolerance=None):
        """The duban.v1.IndicatorSeries; ``tolerance`` is relative (0.05 = 5%), None: the server's."""
        request = reporting_pb2.GetIndicatorSeriesRequest(plan_id=plan_id, indicator_number=indicator)
        if tolerance is not None:
            request.tolerance = tolerance
        return self._call(self._reporting.GetIndicatorSeries, request)

    def list_missing_reports(self, plan_id, year):
        """The duban.v1.MissingReports of a year: task_reports, contributions, indicator_values."""
        return self._call(self._reporting.ListMissingReports,
                          reporting_pb2.ListMissingReportsRequest(plan_id=plan_id, year=year))

    # --- AdminService (admin only)

    def issue_credential(self, principal, label="", plan_id="", request_id=None):
        """Registers a new token for ``principal`` ("supervisor", "auditor", "admin", "agency:<id>"
        with ``plan_id``); returns (duban.v1.Credential, token). Only the token's hash is sent: keep
        the token, it cannot be shown again."""
        token, token_sha256 = new_token()
        credential = self._call(self._admin.IssueCredential, admin_pb2.IssueCredentialRequest(
            request_id=request_id or new_request_id(), principal=principal, token_sha256=token_sha256,
            label=label, plan_id=plan_id))
        return credential, token

    def revoke_credential(self, credential_id, reason, request_id=None):
        return self._call(self._admin.RevokeCredential, admin_pb2.RevokeCredentialRequest(
            request_id=request_id or new_request_id(), credential_id=credential_id, reason=reason))

    def list_credentials(self):
        return list(self._call(self._admin.ListCredentials, admin_pb2.ListCredentialsRequest()).credentials)


# --- the command line ------------------------------------------------------

def _role_argument(text):
    try:
        return parse_role(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _width(text):
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _fit(text, width):
    """`text` cut with "…" and padded to `width` terminal columns."""
    if _width(text) > width:
        while _width(text) > width - 1:
            text = text[:-1]
        text += "…"
    return text + " " * (width - _width(text))


def _roles_summary(task, names, groups):
    parts = []
    for role, letter in _ROLE_LETTERS.items():
        seen, items = set(), []
        for r in task.responsibilities:
            if r.role != role:
                continue
            label = groups.get(r.via_group_id, r.via_group_id) if r.via_group_id else names.get(r.agency_id, r.agency_id)
            if label not in seen:
                seen.add(label)
                items.append(label)
        if items:
            parts.append(f"{letter}:{','.join(items)}")
    return " ".join(parts)


def _read_file(path, source, mode="r"):
    try:
        with open(path, mode) as f:
            return f.read()
    except OSError as error:
        raise SystemExit(f"duban_client: {source}: {path}: {error.strerror}")


def _resolve_token(args):
    """--token > --token-file > DUBAN_TOKEN > DUBAN_TOKEN_FILE > <data-dir>/admin.token.

    With a client certificate (--tls-cert) and none of the first four, None: the certificate is the
    credential (and <data-dir>/admin.token is not used), as with dubanctl.
    """
    def read(path, source):
        token = _read_file(path, source).strip()
        if not token:
            raise SystemExit(f"duban_client: {source}: {path} holds no token")
        return token

    if args.token:
        return args.token
    if args.token_file:
        return read(args.token_file, "--token-file")
    if os.environ.get("DUBAN_TOKEN"):
        return os.environ["DUBAN_TOKEN"].strip()
    if os.environ.get("DUBAN_TOKEN_FILE"):
        return read(os.environ["DUBAN_TOKEN_FILE"], "DUBAN_TOKEN_FILE")
    if args.tls_cert:
        return None
    admin_token = os.path.join(args.data_dir, "admin.token")
    if os.path.exists(admin_token):
        return read(admin_token, "--data-dir")
    raise SystemExit("duban_client: no token found: looked at --token, --token-file, DUBAN_TOKEN and "
                     f"DUBAN_TOKEN_FILE (none set) and {admin_token} (no such file)")


def _tls_arguments(args):
    """DubanClient's TLS keyword arguments from --tls-ca, --tls-cert, --tls-key, --tls-server-name."""
    if bool(args.tls_cert) != bool(args.tls_key):
        raise SystemExit("duban_client: --tls-cert and --tls-key go together")
    if args.tls_server_name and not (args.tls_ca or args.tls_cert):
        raise SystemExit("duban_client: --tls-server-name needs TLS: give --tls-ca or --tls-cert")
    pem = {}
    for name, flag, path in (("root_certificates", "--tls-ca", args.tls_ca),
                             ("certificate_chain", "--tls-cert", args.tls_cert),
                             ("private_key", "--tls-key", args.tls_key)):
        if path:
            pem[name] = _read_file(path, flag, "rb")
    if args.tls_server_name:
        pem["server_name"] = args.tls_server_name
    return pem


def _print_tasks(client, args):
    agencies = client.list_agencies(args.plan)
    names = {a.id: a.short_name or a.name or a.id for a in agencies.agencies}
    groups = {g.id: g.name or g.id for g in agencies.groups}
    tasks = client.list_tasks(args.plan, agency_id=args.agency, role=args.role)
    print(f"{'№':>3}  {_fit('convener', 20)}  {_fit('roles', 30)}  task")
    for task in tasks:
        print(f"{task.number:>3}  {_fit(names.get(task.convener_agency_id, task.convener_agency_id), 20)}  "
              f"{_fit(_roles_summary(task, names, groups), 30)}  {_fit(task.text, 40).rstrip()}")
    print(f"{len(tasks)} task(s)")


def main(argv=None):
    parser = argparse.ArgumentParser(description="List a duban plan's tasks.")
    parser.add_argument("--server", default=os.environ.get("DUBAN_SERVER", DEFAULT_SERVER),
                        help="HOST:PORT (env DUBAN_SERVER, default %(default)s)")
    parser.add_argument("--token", help="bearer token (else env DUBAN_TOKEN)")
    parser.add_argument("--token-file", help="file holding the token (else env DUBAN_TOKEN_FILE)")
    parser.add_argument("--data-dir", default=os.environ.get("DUBAN_DATA_DIR", "./data"),
                        help="its admin.token is the last resort (env DUBAN_DATA_DIR)")
    parser.add_argument("--plan", default=os.environ.get("DUBAN_PLAN", DEFAULT_PLAN),
                        help="plan id (env DUBAN_PLAN, default %(default)s)")
    parser.add_argument("--timeout", type=float, default=10, help="seconds per call")
    parser.add_argument("--tls-ca", default=os.environ.get("DUBAN_TLS_CA"),
                        help="use TLS trusting these root certificates (PEM; env DUBAN_TLS_CA)")
    parser.add_argument("--tls-cert", default=os.environ.get("DUBAN_TLS_CERT"),
                        help="client certificate chain for mutual TLS (PEM; env DUBAN_TLS_CERT)")
    parser.add_argument("--tls-key", default=os.environ.get("DUBAN_TLS_KEY"),
                        help="its private key (PEM; env DUBAN_TLS_KEY)")
    parser.add_argument("--tls-server-name", default=os.environ.get("DUBAN_TLS_SERVER_NAME"),
                        help="name to check the server certificate against")
    commands = parser.add_subparsers(dest="command", required=True)
    tasks = commands.add_parser("tasks", help="list tasks")
    tasks.add_argument("--agency", help="only this agency's tasks (agency id)")
    tasks.add_argument("--role", type=_role_argument, help="only this role: lead, shared, support")
    args = parser.parse_args(argv)

    with DubanClient(args.server, _resolve_token(args), timeout=args.timeout, **_tls_arguments(args)) as client:
        try:
            _print_tasks(client, args)
        except grpc.RpcError as error:
            print(f"duban_client: {error.code().name}: {error.details()}", file=sys.stderr)
            return 1
        except BrokenPipeError:  # e.g. piped into `head`
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
