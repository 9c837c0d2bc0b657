"""The hostile command corpus: what an attacker holding jbremote's key might send to the gate.

Every entry that a shell could act on tries to create its own canary file (``{canary}``), and the
path tricks point at ``{trap}``, an executable named ``jetbackup5api`` outside the real location
that creates a canary when run. Entries that no shell would act on (parameter smuggling, a
second ``-F``…) are caught by the simulator's call log instead: a denied command must leave no
record there. The payloads never do more than create files under the test's directory.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

J = "6504c79fd4b57d536c05bbe2"
J2 = "650a00000000000000000001"
GET = f"jetbackup5api -F getBackupJob -D _id={J} -O json"
LIST = "jetbackup5api -F listBackupJobs -D 'limit=1000&skip=0' -O json"


def _api(function: str, data: str) -> str:
    """Return a call quoted exactly as the client quotes: only the grammar can object."""
    return shlex.join(["jetbackup5api", "-F", function, "-D", data, "-O", "json"])


# (label, template): {canary} is this entry's canary file, {trap} the fake jetbackup5api.
_TEMPLATES: list[tuple[str, str | bytes]] = [
    # shell control operators
    ("semicolon", GET + "; touch {canary}"),
    ("semicolon no space", GET + ";touch {canary}"),
    ("and", GET + " && touch {canary}"),
    ("or", GET + " || touch {canary}"),
    ("pipe", GET + " | touch {canary}"),
    ("background", GET + " & touch {canary}"),
    (
        "ampersand inside unquoted -D",
        "jetbackup5api -F listBackupJobs -D limit=1&touch {canary}&skip=0 -O json",
    ),
    ("backticks", GET + " `touch {canary}`"),
    ("command substitution", GET + " $(touch {canary})"),
    ("substitution in a value", "jetbackup5api -F getBackupJob -D _id=$(touch {canary}) -O json"),
    ("substitution in quoted -D", _api("listBackupJobs", "limit=$(touch {canary})&skip=0")),
    ("process substitution", GET + " <(touch {canary})"),
    ("newline", GET + "\ntouch {canary}"),
    ("newline first", "touch {canary}\n" + GET),
    ("carriage return", GET + "\rtouch {canary}"),
    ("crlf", GET + "\r\ntouch {canary}"),
    ("comment", GET + " #; touch {canary}"),
    # redirections
    ("redirect out", GET + " > {canary}"),
    ("redirect out no space", GET + " >{canary}"),
    ("redirect append", GET + " >> {canary}"),
    ("redirect stderr", GET + " 2> {canary}"),
    ("redirect in", GET + " < /etc/hostname; touch {canary}"),
    ("here-string", GET + " <<< x; touch {canary}"),
    # quoting tricks
    ("double quotes", f'jetbackup5api -F getBackupJob -D "_id={J}" -O json; touch {{canary}}'),
    (
        "break out of single quotes",
        "jetbackup5api -F listBackupJobs -D 'limit=1000&skip=0'\"'\"'; touch {canary}; '\"'\"'' -O json",
    ),
    ("unbalanced quote", LIST + "'; touch {canary}'"),
    ("backslash", GET + "\\; touch {canary}"),
    ("ansi-c quoting", GET + " $'\\x3b' touch {canary}"),
    ("needlessly quoted binary", f"'jetbackup5api' -F getBackupJob -D _id={J} -O json"),
    ("needlessly quoted value", f"jetbackup5api -F getBackupJob -D '_id={J}' -O json"),
    ("empty quoted word", f"jetbackup5api '' -F getBackupJob -D _id={J} -O json"),
    # globs and expansions
    ("glob question marks", "/???/touch {canary}"),
    ("glob star", "/*/touch {canary}"),
    ("glob in a value", "jetbackup5api -F getBackupJob -D _id=* -O json; touch {canary}"),
    ("brace expansion", "{touch,{canary}}"),
    ("tilde", "~/../../bin/touch {canary}"),
    ("variable", "$SHELL -c 'touch {canary}'"),
    ("IFS", "touch${IFS}{canary}"),
    # other programs
    ("plain touch", "touch {canary}"),
    ("absolute touch", "/usr/bin/touch {canary}"),
    ("sh -c", "sh -c 'touch {canary}'"),
    ("bash -c", 'bash -c "touch {canary}"'),
    ("python", 'python3 -c \'open("{canary}", "w")\''),
    ("eval", "eval touch {canary}"),
    ("exec", "exec touch {canary}"),
    ("scp sink", "scp -t {canary}"),
    ("sftp server", "/usr/lib/openssh/sftp-server"),
    ("rsync server", "rsync --server -e.LsfxC . {canary}"),
    ("gate version then command", "jbremote-gate --version; touch {canary}"),
    ("gate version and command", "jbremote-gate --version && touch {canary}"),
    ("gate version newline", "jbremote-gate --version\ntouch {canary}"),
    ("gate check", "jbremote-gate --check 'touch {canary}'"),
    ("gate with other options", "jbremote-gate --api {trap} --version"),
    # environment tricks
    ("env", "env touch {canary}"),
    ("LD_PRELOAD", "LD_PRELOAD=/nonexistent.so " + GET + "; touch {canary}"),
    ("PATH assignment", "PATH=/tmp " + GET),
    ("assignment only", "BASH_ENV={canary}"),
    ("trailing assignment", GET + " PATH=/tmp"),
    # path tricks for jetbackup5api
    ("fake jetbackup5api elsewhere", f"{{trap}} -F getBackupJob -D _id={J} -O json"),
    ("dot-dot path", f"/usr/bin/../../..{{trap}} -F getBackupJob -D _id={J} -O json"),
    ("relative path", f"./jetbackup5api -F getBackupJob -D _id={J} -O json"),
    ("doubled slash", f"/usr/bin//jetbackup5api -F getBackupJob -D _id={J} -O json"),
    ("other directory", f"/usr/local/bin/jetbackup5api -F getBackupJob -D _id={J} -O json"),
    ("lookalike name", f"jetbackup5api.sh -F getBackupJob -D _id={J} -O json"),
    ("upper case name", f"JETBACKUP5API -F getBackupJob -D _id={J} -O json"),
    # argument smuggling
    ("-F twice", f"jetbackup5api -F getBackupJob -F runBackupJobManually -D _id={J} -O json"),
    ("-F at the end", f"{GET} -F runBackupJobManually"),
    ("-D twice", f"jetbackup5api -F getBackupJob -D _id={J} -D _id={J2} -O json"),
    ("-O twice", f"{GET} -O json"),
    ("long option", f"jetbackup5api --func getBackupJob -D _id={J} -O json"),
    ("plain output", f"jetbackup5api -F getBackupJob -D _id={J} -O plain"),
    ("no output flag", f"jetbackup5api -F getBackupJob -D _id={J}"),
    ("help", "jetbackup5api -h"),
    ("unknown flag", f"{GET} -X"),
    ("flag without value", f"jetbackup5api -F getBackupJob -D _id={J} -O"),
    ("options out of order", f"jetbackup5api -O json -F getBackupJob -D _id={J}"),
    ("empty function", f"jetbackup5api -F '' -D _id={J} -O json"),
    ("function not in the grammar", f"jetbackup5api -F deleteBackupJob -D _id={J} -O json"),
    ("stop all", "jetbackup5api -F stopAllQueueGroup -O json"),
    ("clear queue", "jetbackup5api -F clearQueue -O json"),
    ("rerun", f"jetbackup5api -F rerunFailedQueueGroup -D _id={J2} -O json"),
    ("manage destination", _api("manageDestination", f"action=modify&_id={J}&disabled=1")),
    # parameter smuggling inside -D
    ("create a job", _api("manageBackupJob", f"action=create&_id={J}&disabled=1")),
    ("extra key", _api("manageBackupJob", f"action=modify&_id={J}&disabled=1&name=x")),
    (
        "extra list key",
        _api("manageBackupJob", f"action=modify&_id={J}&disabled=1&destination[0]={J2}"),
    ),
    ("duplicate key", _api("getBackupJob", f"_id={J}&_id={J2}")),
    ("encoded separator", _api("getBackupJob", f"_id={J}%26action%3Dcreate")),
    ("encoded NUL", _api("getBackupJob", f"_id={J}%00")),
    ("plus", _api("getBackupJob", f"_id={J}+touch")),
    ("trailing ampersand", _api("getBackupJob", f"_id={J}&")),
    ("leading ampersand", _api("getBackupJob", f"&_id={J}")),
    ("double ampersand", _api("listBackupJobs", "limit=1000&&skip=0")),
    ("key without value", _api("getBackupJob", "_id")),
    ("value without key", _api("getBackupJob", f"={J}")),
    ("double equals", _api("getBackupJob", f"_id=={J}")),
    ("equals in value", _api("getBackupJob", f"_id={J}=x")),
    ("bracketed id", _api("getBackupJob", f"_id[]={J}")),
    ("parameter of another function", _api("getBackupJob", f"_id={J}&find[info.ID]={J}")),
    ("upper-case id", _api("getBackupJob", "_id=" + J.upper())),
    ("id too long", _api("getBackupJob", f"_id={J}0")),
    ("id too short", _api("getBackupJob", f"_id={J[:-1]}")),
    ("limit too big", _api("listBackupJobs", "limit=99999999999&skip=0")),
    ("negative limit", _api("listBackupJobs", "limit=-1&skip=0")),
    ("leading zero", _api("listBackupJobs", "limit=01&skip=0")),
    ("exponent", _api("listBackupJobs", "limit=1e3&skip=0")),
    ("flag 2", _api("manageBackupJob", f"action=modify&_id={J}&disabled=2")),
    ("flag true", _api("manageBackupJob", f"action=modify&_id={J}&disabled=true")),
    ("queue type 3", _api("listQueueGroups", "type=3&sort[created]=-1&limit=50")),
    ("missing parameter", _api("manageBackupJob", f"action=modify&_id={J}")),
    ("empty -D", "jetbackup5api -F getBackupJob -D '' -O json"),
    # sizes and bytes
    ("over-long", GET + " " * 2000 + "; touch {canary}"),
    ("huge", GET + " -O json" * 12000 + "; touch {canary}"),
    ("tab separators", GET.replace(" ", "\t") + ";touch {canary}"),
    ("double space", GET.replace(" ", "  ")),
    ("trailing space", GET + " "),
    ("non-breaking space", GET.encode() + b"\xc2\xa0; touch {canary}"),
    ("right-to-left override", f"jetbackup5api -F getBackupJob -D _id={J}\u202e -O json"),
    ("invalid UTF-8", GET.encode() + b"\xff; touch {canary}"),
    ("cyrillic lookalike", f"\u0458etbackup5api -F getBackupJob -D _id={J} -O json"),
    ("escape sequence", GET + "\x1b]0;owned\x07; touch {canary}"),
    ("NUL", GET.encode() + b"\x00; touch {canary}"),
    ("empty command", ""),
]


@dataclass(frozen=True)
class Hostile:
    index: int
    label: str
    command: bytes
    canary: str


def corpus(canary_dir: str, trap: str = "/tmp/not-there/jetbackup5api") -> list[Hostile]:
    """Return the corpus with each entry's canary at ``canary_dir/canary-N``."""
    entries = []
    for index, (label, template) in enumerate(_TEMPLATES):
        canary = f"{canary_dir}/canary-{index}"
        raw = template.encode("utf-8") if isinstance(template, str) else template
        raw = raw.replace(b"{canary}", canary.encode()).replace(b"{trap}", trap.encode())
        entries.append(Hostile(index, label, raw, canary))
    return entries


def trap_script(canary: str) -> str:
    """Return a fake ``jetbackup5api`` that creates ``canary`` if anything ever runs it."""
    return f"#!/bin/sh\ntouch {canary}\n"
