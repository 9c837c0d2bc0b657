#!/usr/bin/env bash
# Install jbremote on this box and bring it to "scheduled and running", in one command:
#
#     sudo deployments/install.sh [--config /path/to/jbremote.yaml]
#
# Idempotent: run it again to upgrade (new code, same config, same password) or to repair.
# What it does (every step prints what it did or found):
#   service user jbremote; code in /opt/jbremote/app; virtualenv /opt/jbremote/venv;
#   /etc/jbremote/{jbremote.yaml,jbremote.env}; /var/lib/jbremote; systemd units for the
#   Prefect server and worker (enabled, started, restarted when something changed);
#   work pool "jbremote"; `prefect --no-prompt deploy --all`; then the UI URL.
#
# Options:
#   --config FILE   install FILE as /etc/jbremote/jbremote.yaml (only if none is there;
#                   without it a first install copies the commented example to edit)
#   --user NAME     service user (default jbremote; "root" runs the services as root)
#   --prefix DIR    install under DIR instead of /: no service user, no systemctl, files
#                   owned by you. For tests and packaging. Deploys only with --api-url.
#   --api-url URL   the Prefect API to create the pool and deploy on (default: the local
#                   server, PREFECT_API_URL from the env file)
#   --venv DIR      use this existing virtualenv (must have jbremote installed); do not
#                   create one or pip install
#   --python EXE    Python (>= 3.10) for the virtualenv (default python3)
#   --dry-run       print what would be done; change nothing
#   -h, --help
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PREFIX=""
DRY_RUN=0
SERVICE_USER=jbremote
CONFIG_FROM=""
API_URL=""
VENV_FROM=""
PYTHON=${PYTHON:-python3}
POOL=jbremote
UNITS=(jbremote-prefect-server.service jbremote-prefect-worker.service)

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "install.sh: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
    case "$1" in
        --config) CONFIG_FROM=${2:?--config needs a file}; shift 2 ;;
        --user) SERVICE_USER=${2:?--user needs a name}; shift 2 ;;
        --prefix) PREFIX=${2:?--prefix needs a directory}; shift 2 ;;
        --api-url) API_URL=${2:?--api-url needs a URL}; shift 2 ;;
        --venv) VENV_FROM=${2:?--venv needs a directory}; shift 2 ;;
        --python) PYTHON=${2:?--python needs an executable}; shift 2 ;;
        --dry-run) DRY_RUN=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done

if [ -n "$PREFIX" ]; then
    [ "$DRY_RUN" = 1 ] || mkdir -p "$PREFIX" || die "cannot create $PREFIX"
    case "$PREFIX" in /*) ;; *) PREFIX=$(pwd)/$PREFIX ;; esac
    SERVICE_USER=$(id -un)
fi
[ -z "$CONFIG_FROM" ] || [ -f "$CONFIG_FROM" ] || die "--config: no such file $CONFIG_FROM"
[ -z "$CONFIG_FROM" ] || CONFIG_FROM=$(cd "$(dirname "$CONFIG_FROM")" && pwd)/$(basename "$CONFIG_FROM")

APP_DIR=$PREFIX/opt/jbremote
HOME_DIR=$APP_DIR/app # JBREMOTE_HOME: the code every flow run starts in
VENV=${VENV_FROM:-$APP_DIR/venv}
CONF_DIR=$PREFIX/etc/jbremote
CONFIG=$CONF_DIR/jbremote.yaml
ENV_FILE=$CONF_DIR/jbremote.env
STATE_DIR=$PREFIX/var/lib/jbremote
UNIT_DIR=$PREFIX/etc/systemd/system

DONE=() # what this run changed, for the summary
CHANGED=0 # code, venv, units or env changed: running services need a restart

say() { printf '== %s\n' "$*"; }
did() { DONE+=("$*"); CHANGED=1; printf '   %s\n' "$*"; }
kept() { printf '   %s\n' "$*"; }
# Run a command, or only show it with --dry-run.
run() {
    if [ "$DRY_RUN" = 1 ]; then
        printf '   would run: %s\n' "$*"
    else
        "$@"
    fi
}

# Rewrite the standard install paths and user of a file for this install (no-op for a
# standard install): the committed units and templates stay valid as they are.
render() {
    sed -e "s|/opt/jbremote/venv|$VENV|g" \
        -e "s|/opt/jbremote|$APP_DIR|g" \
        -e "s|/etc/jbremote|$CONF_DIR|g" \
        -e "s|/var/lib/jbremote|$STATE_DIR|g" \
        -e "s|^User=jbremote$|User=$SERVICE_USER|" \
        -e "s|^Group=jbremote$|Group=$(group_of "$SERVICE_USER")|" \
        "$@"
}
group_of() { id -gn "$1" 2>/dev/null || echo "$1"; }

# Install $2 from the content on stdin, mode $3, if it differs. Report it.
install_file() {
    local what=$1 dest=$2 mode=$3 tmp
    tmp=$(mktemp)
    cat >"$tmp"
    if [ -f "$dest" ] && cmp -s "$tmp" "$dest"; then
        kept "$what: $dest unchanged"
        rm -f "$tmp"
    elif [ "$DRY_RUN" = 1 ]; then
        printf '   would write %s (%s)\n' "$dest" "$what"
        rm -f "$tmp"
    else
        install -m "$mode" "$tmp" "$dest"
        rm -f "$tmp"
        did "$what: wrote $dest"
    fi
}

step_user() {
    say "service user"
    if [ -n "$PREFIX" ]; then
        kept "--prefix: files belong to $SERVICE_USER, no service user created"
    elif [ "$SERVICE_USER" = root ]; then
        kept "services run as root (--user root)"
    elif id -u "$SERVICE_USER" >/dev/null 2>&1; then
        kept "user $SERVICE_USER exists"
    else
        run useradd --system --home-dir /var/lib/jbremote --shell /usr/sbin/nologin \
            --user-group "$SERVICE_USER"
        [ "$DRY_RUN" = 1 ] || did "created system user $SERVICE_USER"
    fi
}

step_dirs() {
    say "directories"
    local dir
    for dir in "$APP_DIR" "$CONF_DIR" "$UNIT_DIR"; do
        [ -d "$dir" ] || { run mkdir -p "$dir"; [ "$DRY_RUN" = 1 ] || did "created $dir"; }
    done
    for dir in "$STATE_DIR" "$STATE_DIR/prefect" "$STATE_DIR/worker"; do
        if [ ! -d "$dir" ]; then
            run install -d -m 0750 -o "$SERVICE_USER" -g "$(group_of "$SERVICE_USER")" "$dir"
            [ "$DRY_RUN" = 1 ] || did "created $dir"
        fi
    done
    kept "code $HOME_DIR, config $CONF_DIR, state $STATE_DIR"
}

step_code() {
    say "code"
    local files=(pyproject.toml README.md prefect.yaml jbremote flows deployments docs)
    if [ "$DRY_RUN" = 1 ]; then
        printf '   would copy %s from %s to %s\n' "${files[*]}" "$SRC" "$HOME_DIR"
        return
    fi
    local new=$HOME_DIR.new
    rm -rf "$new"
    mkdir -p "$new"
    tar -C "$SRC" --exclude=__pycache__ --exclude='*.pyc' --exclude='*.egg-info' \
        -cf - "${files[@]}" | tar -C "$new" -xf -
    # The deployments' default config path follows the install (a no-op without --prefix).
    render "$SRC/prefect.yaml" >"$new/prefect.yaml"
    # (pip's in-tree build leaves build/ and *.egg-info behind: not our code)
    if [ -d "$HOME_DIR" ] && diff -r -q -x build -x '*.egg-info' -x __pycache__ \
        "$new" "$HOME_DIR" >/dev/null 2>&1; then
        rm -rf "$new"
        kept "$HOME_DIR is up to date"
        return
    fi
    rm -rf "$HOME_DIR.old"
    [ ! -d "$HOME_DIR" ] || mv "$HOME_DIR" "$HOME_DIR.old"
    mv "$new" "$HOME_DIR"
    rm -rf "$HOME_DIR.old"
    did "installed the code from $SRC in $HOME_DIR"
}

step_venv() {
    say "virtualenv"
    if [ -n "$VENV_FROM" ]; then
        [ -x "$VENV/bin/prefect" ] || die "--venv $VENV has no bin/prefect"
        kept "using $VENV as it is (--venv)"
        return
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        "$PYTHON" -c 'import sys, venv; sys.exit(sys.version_info < (3, 10))' 2>/dev/null ||
            die "$PYTHON must be Python >= 3.10 with venv (apt-get install python3-venv)"
        run "$PYTHON" -m venv "$VENV"
        [ "$DRY_RUN" = 1 ] || did "created $VENV"
    fi
    # Reinstall when the code changed (pip always rebuilds a local directory).
    local stamp=$VENV/.jbremote-installed want
    if [ "$DRY_RUN" = 1 ]; then
        printf '   would run: %s\n' "$VENV/bin/pip install $HOME_DIR (when the code changed)"
        return
    fi
    want=$(cd "$HOME_DIR" && find pyproject.toml jbremote flows -type f -name '*' \
        ! -path '*__pycache__*' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-32)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        kept "jbremote in $VENV is current"
        return
    fi
    "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
    "$VENV/bin/python" -m pip install -q "$HOME_DIR"
    echo "$want" >"$stamp"
    did "installed jbremote and Prefect into $VENV"
}

step_config() {
    say "config"
    if [ -f "$CONFIG" ]; then
        if [ -n "$CONFIG_FROM" ] && ! cmp -s "$CONFIG_FROM" "$CONFIG"; then
            kept "kept the existing $CONFIG (not replaced by --config $CONFIG_FROM)"
        else
            kept "$CONFIG exists"
        fi
    else
        local from=${CONFIG_FROM:-$SRC/jbremote/config/example.yaml}
        install_file "config (from $from)" "$CONFIG" 0640 <"$from"
        [ -n "$CONFIG_FROM" ] || NEEDS_EDIT=1
    fi
    if [ -z "$PREFIX" ] && [ "$DRY_RUN" = 0 ]; then
        chown "root:$(group_of "$SERVICE_USER")" "$CONFIG"
    fi

    if [ -f "$ENV_FILE" ]; then
        kept "$ENV_FILE exists (password kept)"
        grep -q CHANGE-ME "$ENV_FILE" && die "$ENV_FILE still says CHANGE-ME: set a password"
    else
        local secret
        secret=$(od -An -tx1 -N18 /dev/urandom | tr -d ' \n')
        install_file "environment with a new API password" "$ENV_FILE" 0640 \
            < <(render "$SRC/deployments/jbremote.env.example" | sed "s|CHANGE-ME|$secret|g")
    fi
    if [ -z "$PREFIX" ] && [ "$DRY_RUN" = 0 ]; then
        chown "root:$(group_of "$SERVICE_USER")" "$ENV_FILE"
    fi
}

step_units() {
    say "systemd units"
    local unit
    for unit in "${UNITS[@]}"; do
        install_file "$unit" "$UNIT_DIR/$unit" 0644 < <(render "$SRC/deployments/systemd/$unit")
    done
}

# Start (first time) or restart (something changed) both services.
step_services() {
    say "services"
    if [ -n "$PREFIX" ]; then
        kept "--prefix: not touching systemd; a real install runs:"
        kept "  systemctl daemon-reload && systemctl enable --now ${UNITS[*]}"
        return
    fi
    if ! command -v systemctl >/dev/null || [ ! -d /run/systemd/system ]; then
        die "systemd is not running here: use --prefix, or start the services by hand (docs/operations.md)"
    fi
    run systemctl daemon-reload
    run systemctl enable --quiet "${UNITS[@]}"
    if [ "$CHANGED" = 1 ]; then
        # The server first; restarting the worker drains it (worker-drain.sh).
        run systemctl restart "${UNITS[0]}"
        run systemctl restart "${UNITS[1]}"
        [ "$DRY_RUN" = 1 ] || did "(re)started ${UNITS[*]}"
    else
        run systemctl start "${UNITS[@]}"
        kept "services running"
    fi
}

# Run the Prefect CLI as the worker would: env file loaded, API URL of this install.
prefect_cli() {
    (
        set -a
        # shellcheck disable=SC1090
        [ ! -f "$ENV_FILE" ] || . "$ENV_FILE"
        set +a
        # shellcheck disable=SC2030 # this subshell only
        [ -z "$API_URL" ] || export PREFECT_API_URL="$API_URL"
        export PREFECT_HOME=${JBREMOTE_CLI_PREFECT_HOME:-$STATE_DIR/cli}
        # prefect deploy would bake a set JBREMOTE_HOME into the pull step; unset, the
        # placeholder stays and each run takes it from the worker (prefect.yaml).
        unset JBREMOTE_HOME
        cd "$HOME_DIR"
        exec "$VENV/bin/prefect" "$@"
    )
}

effective_api_url() {
    if [ -n "$API_URL" ]; then
        echo "$API_URL"
    elif [ -f "$ENV_FILE" ]; then
        # shellcheck disable=SC1090,SC2031
        (set -a; . "$ENV_FILE"; echo "${PREFECT_API_URL:-http://127.0.0.1:4200/api}")
    else
        echo "http://127.0.0.1:4200/api"
    fi
}

step_deploy() {
    say "work pool and deployments"
    if [ -n "$PREFIX" ] && [ -z "$API_URL" ]; then
        kept "--prefix without --api-url: not deploying"
        return
    fi
    local url
    url=$(effective_api_url)
    if [ "$DRY_RUN" = 1 ]; then
        printf '   would wait for %s/health, create work pool %s (process) if missing,\n' "$url" "$POOL"
        printf '   would run: (cd %s && prefect --no-prompt deploy --all)\n' "$HOME_DIR"
        return
    fi
    local i
    for i in $(seq 1 90); do
        "$VENV/bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/health", timeout=2)' \
            "$url" 2>/dev/null && break
        [ "$i" = 90 ] && die "the Prefect server at $url did not answer within 90 s (journalctl -u ${UNITS[0]})"
        sleep 1
    done
    if prefect_cli work-pool inspect "$POOL" >/dev/null 2>&1; then
        kept "work pool $POOL exists"
    else
        prefect_cli work-pool create "$POOL" --type process >/dev/null
        did "created work pool $POOL (process)"
    fi
    local log
    log=$(mktemp)
    if ! prefect_cli --no-prompt deploy --all >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        die "prefect deploy failed"
    fi
    grep -o "Deployment '[^']*' successfully [a-z]*" "$log" | sed 's/^/   /' || true
    rm -f "$log"
    DONE+=("deployed prefect.yaml from $HOME_DIR")
}

summary() {
    local url ui
    url=$(effective_api_url)
    ui=${url%/api}
    echo
    if [ "$DRY_RUN" = 1 ]; then
        echo "Dry run: nothing was changed."
        return
    fi
    if [ ${#DONE[@]} -eq 0 ]; then
        echo "Nothing to change: jbremote is installed and deployed."
    else
        echo "Done:"
        printf '  - %s\n' "${DONE[@]}"
    fi
    echo
    echo "Prefect UI:  $ui   (log in with the user:password of PREFECT_API_AUTH_STRING in $ENV_FILE)"
    echo "Config:      $CONFIG"
    echo "Logs:        journalctl -u ${UNITS[0]} -u ${UNITS[1]}"
    echo "Operations:  $HOME_DIR/docs/operations.md"
    if [ "${NEEDS_EDIT:-0}" = 1 ]; then
        echo
        echo "NEXT: $CONFIG is the commented example: put your servers, targets and jobs in it,"
        echo "      then check it: $VENV/bin/jbremote -c $CONFIG validate && $VENV/bin/jbremote -c $CONFIG test"
    fi
}

if [ -z "$PREFIX" ] && [ "$DRY_RUN" = 0 ] && [ "$(id -u)" != 0 ]; then
    die "run as root (or use --prefix DIR / --dry-run)"
fi
command -v pgrep >/dev/null || echo "install.sh: warning: pgrep is missing (apt-get install procps); the worker cannot drain on stop" >&2

step_user
step_dirs
step_code
step_venv
step_config
step_units
step_services
step_deploy
summary
