#!/usr/bin/python3 -IS
"""jbremote-gate: the only program jbremote's SSH key may run on a JetBackup 5 server.

Install it as the key's forced command in the login user's ``~/.ssh/authorized_keys``::

    restrict,command="/usr/bin/python3 -IS /usr/local/sbin/jbremote-gate --api /usr/bin/jetbackup5api" ssh-ed25519 AAAA... jbremote

sshd then runs the gate for every session and hands it the client's command in
``SSH_ORIGINAL_COMMAND``. The gate parses that string against a fixed grammar (exactly the
``jetbackup5api`` calls jbremote makes, each value checked), logs the decision to syslog (facility
authpriv, tag ``jbremote-gate``, with the client address from ``SSH_CONNECTION``) and, only when
the command is allowed, replaces itself with ``--api`` (an absolute path, never looked up in
``PATH``) via ``execve`` with a fixed argument list and a scrubbed environment. No shell ever sees
the client's text, so ``;``, ``$( )``, quotes or redirections cannot do anything but get the
command denied.

``--api`` must be the real ``jetbackup5api`` on that server (check with
``readlink -f "$(command -v jetbackup5api)"``); the gate refuses to run it when it is missing, not
executable, or writable by anyone but its owner (root or the login user).

Options: ``--read-only`` (only the read functions), ``--no-stop`` (never ``stopQueueGroup``),
``--check "COMMAND"`` (say whether COMMAND would be allowed and why, run nothing),
``--grammar`` (print the grammar), ``--syslog-socket PATH`` (default ``/dev/log``), ``--version``. ``jbremote-gate --version`` sent as the SSH
command answers ``jbremote-gate <version>``: the client uses it to see the gate is active.

Exit status: 77 denied, 78 misconfigured gate, 126 ``--api`` could not be started; otherwise
whatever ``jetbackup5api`` returns. Standard library only, Python 3.6 or newer, one file: it is
copied to servers as is.
"""

import argparse
import ipaddress
import os
import pwd
import re
import shlex
import socket
import sys
import typing

if typing.TYPE_CHECKING:  # annotations stay quoted: Python 3.6 must never evaluate them
    from collections.abc import Callable, Mapping, Sequence

__version__ = "0.1.0"
PROG = "jbremote-gate"
VERSION_REQUEST = PROG + " --version"
DEFAULT_API = "/usr/bin/jetbackup5api"
DEFAULT_SYSLOG = "/dev/log"
API_NAME = "jetbackup5api"
MAX_COMMAND_BYTES = 1024  # the longest command jbremote sends is about 150 bytes
EXIT_DENIED = 77  # sysexits EX_NOPERM
EXIT_CONFIG = 78  # sysexits EX_CONFIG
EXIT_CANNOT_RUN = 126
SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Every byte a command of the grammar can contain. No value needs percent-encoding (ids are hex,
# numbers decimal, the one word is "modify"), so "%" is out too.
ALLOWED_BYTES = frozenset(
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=&[] '"
)

READ, RUN, MANAGE, STOP = "read", "run", "manage", "stop"

# syslog: facility authpriv (10), like sshd on RHEL; severities err, warning, info.
LOG_ERR, LOG_WARNING, LOG_INFO = 3, 4, 6
_FACILITY = 10


# -- the grammar -----------------------------------------------------------------------------


class Rule:
    """How one parameter value must look: a full-match pattern, optionally a number range."""

    def __init__(
        self, text: str, pattern: str, low: "int | None" = None, high: "int | None" = None
    ) -> None:
        self.text = text
        self.pattern = re.compile(pattern)
        self.low = low
        self.high = high

    def problem(self, value: str) -> "str | None":
        """Return why ``value`` breaks the rule, or ``None`` if it is fine."""
        if not self.pattern.fullmatch(value):
            return f"{value[:40]!r} is not {self.text}"
        if self.low is not None and self.high is not None:
            number = int(value)
            if str(number) != value or not self.low <= number <= self.high:
                return f"{value[:40]!r} is not {self.text}"
        return None


def _integer(low: int, high: int) -> Rule:
    return Rule(f"an integer from {low} to {high}", r"-?[0-9]{1,10}", low, high)


def _choice(*values: str) -> Rule:
    text = "one of " + ", ".join(values) if len(values) > 1 else "exactly " + values[0]
    return Rule(text, "|".join(re.escape(v) for v in values))


ID = Rule("an id (24 lowercase hex characters)", r"[0-9a-f]{24}")
FLAG = Rule("a flag (0 or 1)", r"[01]")
LIMIT = _integer(1, 10000)


class Function:
    """One allowed ``jetbackup5api`` function: its kind and its parameters."""

    def __init__(
        self,
        name: str,
        kind: str,
        required: "dict[str, Rule]",
        optional: "dict[str, Rule] | None" = None,
    ) -> None:
        self.name = name
        self.kind = kind
        self.required = required
        self.rules = dict(required)
        self.rules.update(optional or {})


# Exactly the calls jbremote.jetbackup builds (tests/unit/gate cross-checks the two).
FUNCTIONS = {
    f.name: f
    for f in (
        Function("listBackupJobs", READ, {"limit": LIMIT, "skip": _integer(0, 10000000)}),
        Function("getBackupJob", READ, {"_id": ID}),
        Function("runBackupJobManually", RUN, {"_id": ID}),
        Function(
            "manageBackupJob", MANAGE, {"action": _choice("modify"), "_id": ID, "disabled": FLAG}
        ),
        Function("getDestination", READ, {"_id": ID}),
        Function("listDestinations", READ, {"limit": LIMIT}),
        Function("manageDestinationState", MANAGE, {"_id": ID, "disabled": FLAG}),
        Function(
            "listQueueGroups",
            READ,
            {
                "type": _choice("1", "2", "4", "8"),
                "sort[created]": _choice("-1", "1"),
                "limit": LIMIT,
            },
        ),
        Function("getQueueGroup", READ, {"_id": ID}),
        Function("listQueueItems", READ, {"group_id": ID, "limit": LIMIT}),
        Function("stopQueueGroup", STOP, {"_id": ID}),
        Function(
            "listLogs",
            READ,
            {"find[type]": _choice("1"), "sort[start_time]": _choice("-1"), "limit": LIMIT},
            {"find[info.ID]": ID},
        ),
        Function("getLog", READ, {"_id": ID, "content": FLAG}),
        Function("listLogItems", READ, {"log_id": ID, "limit": LIMIT}),
        Function("getLogItem", READ, {"log_id": ID, "_id": ID}),
    )
}


class Policy:
    """What this gate allows beyond the grammar: which binary, and which kinds of function."""

    def __init__(self, api: str = DEFAULT_API, read_only: bool = False, no_stop: bool = False):
        self.api = api
        self.read_only = read_only
        self.no_stop = no_stop or read_only

    @property
    def mode(self) -> str:
        if self.read_only:
            return "read-only"
        return "read-write,no-stop" if self.no_stop else "read-write"

    def problem(self) -> "str | None":
        """Return what is wrong with the gate's own configuration, or ``None``."""
        api = self.api
        if not api.startswith("/") or os.path.normpath(api) != api or "//" in api:
            return f"--api must be a normalised absolute path, got {api!r}"
        if os.path.basename(api) != API_NAME:
            return f"--api must name the {API_NAME} program, got {api!r}"
        return None

    def refuses(self, function: Function) -> "str | None":
        if self.read_only and function.kind != READ:
            return f"{function.name} changes the server and this gate is read-only"
        if self.no_stop and function.kind == STOP:
            return f"{function.name} is disabled on this gate (--no-stop)"
        return None


class Decision:
    """The verdict on one command: allowed (with the argv to run) or denied (with a reason)."""

    def __init__(
        self,
        allowed: bool,
        reason: str = "",
        position: "int | None" = None,
        function: "Function | None" = None,
        data: str = "",
        argv: "list[str] | None" = None,
        version: bool = False,
    ) -> None:
        self.allowed = allowed
        self.reason = reason
        self.position = position
        self.function = function
        self.data = data
        self.argv = argv or []
        self.version = version


class Denied(Exception):
    def __init__(self, reason: str, position: "int | None" = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.position = position


def check_command(command: bytes, policy: Policy) -> Decision:
    """Given ``SSH_ORIGINAL_COMMAND`` as bytes, return whether and what to run. Never raises.

    >>> check_command(b"jetbackup5api -F getBackupJob -D _id=6504c79fd4b57d536c05bbe2 -O json",
    ...               Policy()).argv[:3]
    ['/usr/bin/jetbackup5api', '-F', 'getBackupJob']
    """
    try:
        return _check(command, policy)
    except Denied as exc:
        return Decision(False, exc.reason, exc.position)


def _check(command: bytes, policy: Policy) -> Decision:
    if not command:
        raise Denied("no command given (interactive sessions are not allowed)")
    if len(command) > MAX_COMMAND_BYTES:
        raise Denied(f"command is {len(command)} bytes long, at most {MAX_COMMAND_BYTES}")
    for position, byte in enumerate(bytearray(command)):
        if byte not in ALLOWED_BYTES:
            raise Denied(f"{describe_byte(byte)} at position {position} is not allowed", position)
    text = command.decode("ascii")
    if text == VERSION_REQUEST:
        return Decision(True, version=True)
    argv = _split(text)
    if argv[0] not in (API_NAME, policy.api):
        raise Denied(f"only {API_NAME} may run, not {argv[0]!r}", 0)
    options = _options(argv)
    function = FUNCTIONS.get(options["-F"])
    if function is None:
        raise Denied("function {!r} is not allowed".format(options["-F"]))
    refusal = policy.refuses(function)
    if refusal:
        raise Denied(refusal)
    if options.get("-O") != "json":
        raise Denied("-O json is required")
    if function.rules and "-D" not in options:
        raise Denied(f"{function.name} needs -D with its parameters")
    if not function.rules and "-D" in options:
        raise Denied(f"{function.name} takes no -D")
    expected = ["-F", "-D", "-O"] if function.rules else ["-F", "-O"]
    if [argv[i] for i in range(1, len(argv), 2)] != expected:
        raise Denied("arguments must come in the order " + " ".join(expected))
    data = options.get("-D", "")
    _check_params(function, data)
    run = [policy.api, "-F", function.name] + (["-D", data] if data else []) + ["-O", "json"]
    return Decision(True, function=function, data=data, argv=run)


def _split(text: str) -> "list[str]":
    """Split ``text`` into words exactly as the client's ``shlex.join`` put them together."""
    argv = []
    for word in text.split(" "):
        if not word:
            raise Denied("empty word (leading, trailing or doubled space)")
        if word.startswith("'") and word.endswith("'") and len(word) > 1:
            word = word[1:-1]
        if "'" in word:
            raise Denied(f"stray quote in {word[:40]!r}")
        argv.append(word)
    canonical = " ".join(shlex.quote(word) for word in argv)
    if canonical != text:
        raise Denied(f"not quoted the way the client quotes (expected {canonical[:200]!r})")
    return argv


def _options(argv: "list[str]") -> "dict[str, str]":
    options: dict[str, str] = {}
    words = argv[1:]
    for index in range(0, len(words), 2):
        flag = words[index]
        if flag not in ("-F", "-D", "-O"):
            raise Denied(f"unknown argument {flag[:40]!r}")
        if flag in options:
            raise Denied(f"{flag} given twice")
        if index + 1 == len(words):
            raise Denied(f"{flag} needs a value")
        options[flag] = words[index + 1]
    if "-F" not in options:
        raise Denied("-F FUNCTION is required")
    return options


def _check_params(function: Function, data: str) -> None:
    if not function.rules:
        return
    seen: list[str] = []
    for part in data.split("&"):
        key, equals, value = part.partition("=")
        if not equals or not key:
            raise Denied(f"malformed parameter {part[:40]!r} (expected key=value)")
        rule = function.rules.get(key)
        if rule is None:
            allowed = ", ".join(sorted(function.rules))
            raise Denied(f"{function.name} takes no {key[:40]!r} (only {allowed})")
        if key in seen:
            raise Denied(f"parameter {key} given twice")
        problem = rule.problem(value)
        if problem:
            raise Denied(f"{key}: {problem}")
        seen.append(key)
    missing = [key for key in function.required if key not in seen]
    if missing:
        raise Denied("{} needs {}".format(function.name, ", ".join(missing)))


def describe_byte(byte: int) -> str:
    names = {0: "NUL", 9: "tab", 10: "newline", 13: "carriage return", 0x7F: "DEL"}
    if byte in names:
        return f"{names[byte]} (0x{byte:02x})"
    if 0x20 < byte < 0x7F:
        return f"character {chr(byte)!r} (0x{byte:02x})"
    kind = "non-ASCII byte" if byte > 0x7F else "control character"
    return f"{kind} 0x{byte:02x}"


def grammar_text() -> str:
    """Return the grammar as text, one function per line."""
    lines = [f"{API_NAME} -F FUNCTION -D 'KEY=VALUE&...' -O json, where:"]
    for function in FUNCTIONS.values():
        params = []
        for key, rule in function.rules.items():
            optional = "" if key in function.required else " (optional)"
            params.append(f"{key}={rule.text}{optional}")
        lines.append("  {} [{}]: {}".format(function.name, function.kind, "; ".join(params)))
    lines.append(f"and {VERSION_REQUEST!r} (answers '{PROG} {__version__}')")
    return "\n".join(lines) + "\n"


# -- logging and running ---------------------------------------------------------------------


def escape(text: "str | bytes", limit: int = 256) -> str:
    """Return ``text`` as printable ASCII for a quoted log field: ``"``, ``\\`` and every byte
    outside 0x20..0x7e become ``\\xNN``; longer than ``limit`` bytes is cut and marked ``...``.
    """
    raw = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
    out = []
    for byte in bytearray(raw[:limit]):
        if 0x20 <= byte < 0x7F and byte not in (0x22, 0x5C):
            out.append(chr(byte))
        else:
            out.append(f"\\x{byte:02x}")
    return "".join(out) + ("..." if len(raw) > limit else "")


def client_of(environ: "Mapping[bytes, bytes]") -> str:
    """Return ``client=IP port=PORT`` from ``SSH_CONNECTION`` (``client=unknown`` if unusable)."""
    parts = environ.get(b"SSH_CONNECTION", b"").decode("ascii", "replace").split(" ")
    try:
        if len(parts) == 4 and parts[1].isdigit() and len(parts[1]) <= 5:
            return f"client={ipaddress.ip_address(parts[0])} port={parts[1]}"
    except ValueError:
        pass
    return "client=unknown port=-"


def _user() -> str:
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())


def log_line(
    decision: Decision, command: bytes, environ: "Mapping[bytes, bytes]", policy: Policy
) -> str:
    """Return the syslog message for ``decision`` (one line, printable ASCII only).

    ``allow client=IP port=P user=U mode=M function=F data="K=V&..."`` /
    ``allow ... request=version`` / ``deny ... reason="..." command="..."``.
    """
    head = f"{client_of(environ)} user={escape(_user(), 32)} mode={policy.mode}"
    if not decision.allowed:
        return f'deny {head} reason="{escape(decision.reason)}" command="{escape(command)}"'
    if decision.version:
        return f"allow {head} request=version"
    name = decision.function.name if decision.function else "?"
    return f'allow {head} function={name} data="{escape(decision.data)}"'


class Syslog:
    """Sends messages to the local syslog socket; a missing syslog is not an error (like libc)."""

    def __init__(self, address: str = DEFAULT_SYSLOG) -> None:
        self.address = address

    def __call__(self, severity: int, message: str) -> None:
        packet = f"<{_FACILITY * 8 + severity}>{PROG}[{os.getpid()}]: {message}"
        data = packet.encode("ascii", "replace")
        for kind, suffix in ((socket.SOCK_DGRAM, b""), (socket.SOCK_STREAM, b"\0")):
            try:
                with socket.socket(socket.AF_UNIX, kind) as sock:
                    sock.settimeout(2.0)
                    sock.connect(self.address)
                    sock.sendall(data + suffix)
                return
            except OSError:
                continue


def api_problem(path: str) -> "str | None":
    """Return why the program at ``path`` must not be run, or ``None``."""
    try:
        info = os.stat(path)
    except OSError as exc:
        return f"{path} is missing ({exc.strerror}); set --api to the server's {API_NAME}"
    if not os.path.isfile(path) or not os.access(path, os.X_OK):
        return f"{path} is not an executable file"
    if info.st_uid not in (0, os.geteuid()) or info.st_mode & 0o022:
        return f"{path} may be changed by others (owner uid {info.st_uid}, mode {info.st_mode & 0o7777:o})"
    return None


def child_environment(environ: "Mapping[bytes, bytes]") -> "dict[str, str]":
    """Return the environment ``jetbackup5api`` gets: a fixed PATH, who we are, and the SSH
    connection; nothing the client could have set (no SSH_ORIGINAL_COMMAND, LD_*, LANG...).
    """
    env = {"PATH": SAFE_PATH}
    try:
        entry = pwd.getpwuid(os.getuid())
        env.update(HOME=entry.pw_dir, USER=entry.pw_name, LOGNAME=entry.pw_name)
    except KeyError:
        env["HOME"] = "/"
    if not client_of(environ).startswith("client=unknown"):
        env["SSH_CONNECTION"] = environ[b"SSH_CONNECTION"].decode("ascii")
    return env


def explain(command: bytes, policy: Policy) -> "tuple[bool, str]":
    """Return (allowed, text) for ``--check``: the verdict, and where a denied command breaks."""
    decision = check_command(command, policy)
    if decision.allowed and decision.version:
        return True, f"allowed: version request (answers '{PROG} {__version__}')\n"
    if decision.allowed:
        kind = decision.function.kind if decision.function else "?"
        run = " ".join(shlex.quote(word) for word in decision.argv)
        return True, f"allowed ({kind}, {policy.mode} gate)\nwould run: {run}\n"
    text = f"denied: {decision.reason}\n"
    if decision.position is not None:
        shown = escape(command[: decision.position], 512)
        text += "  {}\n  {}^\n".format(escape(command, 512), " " * len(shown))
    return False, text


def main(
    argv: "Sequence[str] | None" = None,
    environ: "Mapping[bytes, bytes] | None" = None,
    execute: "Callable[[str, list[str], dict[str, str]], None] | None" = None,
    log: "Callable[[int, str], None] | None" = None,
) -> int:
    """Run the gate: check ``SSH_ORIGINAL_COMMAND``, log, then exec ``--api`` or deny.

    ``environ``, ``execute`` (default ``os.execve``) and ``log`` (default: syslog) are for tests.
    """
    parser = argparse.ArgumentParser(
        prog=PROG, description="SSH forced command for jbremote.", allow_abbrev=False
    )
    parser.add_argument("--api", default=DEFAULT_API, help="absolute path of jetbackup5api")
    parser.add_argument("--read-only", action="store_true", help="allow only read functions")
    parser.add_argument("--no-stop", action="store_true", help="never allow stopQueueGroup")
    parser.add_argument("--check", metavar="COMMAND", help="explain the verdict; run nothing")
    parser.add_argument("--grammar", action="store_true", help="print the allowed calls")
    parser.add_argument(
        "--syslog-socket", default=DEFAULT_SYSLOG, help="the local syslog socket (/dev/log)"
    )
    parser.add_argument("--version", action="store_true", help="print the version")
    args = parser.parse_args(argv)
    policy = Policy(args.api, args.read_only, args.no_stop)
    if args.version:
        sys.stdout.write(f"{PROG} {__version__}\n")
        return 0
    if args.grammar:
        sys.stdout.write(grammar_text())
        return 0
    config_problem = policy.problem()
    if args.check is not None:
        if config_problem:
            sys.stdout.write(f"gate misconfigured: {config_problem}\n")
            return EXIT_CONFIG
        allowed, text = explain(os.fsencode(args.check), policy)
        sys.stdout.write(text)
        return 0 if allowed else 1
    environ = os.environb if environ is None else environ
    log = Syslog(args.syslog_socket) if log is None else log
    command = environ.get(b"SSH_ORIGINAL_COMMAND", b"")
    if config_problem:
        return _fail(log, environ, EXIT_CONFIG, "gate misconfigured: " + config_problem)
    decision = check_command(command, policy)
    log(LOG_INFO if decision.allowed else LOG_WARNING, log_line(decision, command, environ, policy))
    if not decision.allowed:
        sys.stderr.write(f"{PROG}: denied: {decision.reason}\n")
        return EXIT_DENIED
    if decision.version:
        sys.stdout.write(f"{PROG} {__version__}\n")
        return 0
    problem = api_problem(policy.api)
    if problem:
        return _fail(log, environ, EXIT_CONFIG, problem)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        (execute or os.execve)(policy.api, decision.argv, child_environment(environ))
    except OSError as exc:
        return _fail(log, environ, EXIT_CANNOT_RUN, f"cannot run {policy.api}: {exc}")
    return 0  # reached only when a test double stands in for execve


def _fail(
    log: "Callable[[int, str], None]", environ: "Mapping[bytes, bytes]", status: int, reason: str
) -> int:
    log(LOG_ERR, f'error {client_of(environ)} reason="{escape(reason)}"')
    sys.stderr.write(f"{PROG}: {reason}\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
