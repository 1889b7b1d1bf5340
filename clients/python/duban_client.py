#!/usr/bin/python3
"""A small Python client of duban's AssignmentService (package duban.v1).

    from duban_client import DubanClient

    with DubanClient("127.0.0.1:50051", token) as client:
        for task in client.list_tasks("qinghai-employment-2021", agency_id="qh-edu"):
            print(task.number, task.text)

Every call sends ``authorization: Bearer <token>`` and has a deadline of
``timeout`` seconds; failures raise ``grpc.RpcError`` (``.code()``,
``.details()``). Writes take a ``request_id``: retrying with the same id is
safe (the server answers the original result and writes nothing).

Needs the stubs the CMake build generates into ``<build>/python`` (put it on
PYTHONPATH) and Debian's python3-grpcio and python3-protobuf, i.e. run it
with /usr/bin/python3. As a script it lists tasks:

    PYTHONPATH=build/python /usr/bin/python3 clients/python/duban_client.py \\
        --token-file data/admin.token tasks --agency qh-edu
"""

import argparse
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
    from duban.v1 import assignment_pb2, assignment_pb2_grpc, plan_pb2
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


def new_request_id():
    """A fresh random 128-bit request id, as 32 hex digits."""
    return secrets.token_hex(16)


class DubanClient:
    """AssignmentService behind plain methods returning duban.v1 messages."""

    def __init__(self, address, token, timeout=10, channel=None):
        self._channel = channel if channel is not None else grpc.insecure_channel(address)
        self._stub = assignment_pb2_grpc.AssignmentServiceStub(self._channel)
        self._metadata = (("authorization", f"Bearer {token}"),)
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


def _resolve_token(args):
    """--token > --token-file > DUBAN_TOKEN > DUBAN_TOKEN_FILE > <data-dir>/admin.token."""
    def read(path, source):
        try:
            with open(path, encoding="utf-8") as f:
                token = f.read().strip()
        except OSError as error:
            raise SystemExit(f"duban_client: {source}: {path}: {error.strerror}")
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
    admin_token = os.path.join(args.data_dir, "admin.token")
    if os.path.exists(admin_token):
        return read(admin_token, "--data-dir")
    raise SystemExit("duban_client: no token found: looked at --token, --token-file, DUBAN_TOKEN and "
                     f"DUBAN_TOKEN_FILE (none set) and {admin_token} (no such file)")


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
    commands = parser.add_subparsers(dest="command", required=True)
    tasks = commands.add_parser("tasks", help="list tasks")
    tasks.add_argument("--agency", help="only this agency's tasks (agency id)")
    tasks.add_argument("--role", type=_role_argument, help="only this role: lead, shared, support")
    args = parser.parse_args(argv)

    with DubanClient(args.server, _resolve_token(args), timeout=args.timeout) as client:
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
