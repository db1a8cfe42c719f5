#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, and the smoke profile run through it with the project's
# SLURM profile (workflow/profiles/slurm) and snakemake-executor-plugin-slurm. `make slurm-smoke`.
#
#   tools/slurm_local.sh start     munged, slurmctld, slurmd (config and state in $SLURM_LOCAL_DIR)
#   tools/slurm_local.sh smoke     start, run the smoke profile end to end, stop (the log: $SLURM_LOCAL_DIR/smoke.log)
#   tools/slurm_local.sh stop      stop the daemons this script started
#
# Accounting: the plugin asks `sacct` for job states when sacct is installed, unless told
# --slurm-status-command squeue and MinJobAge is at least 3x its first status interval. This cluster
# has no slurmdbd (no database), so it keeps finished jobs in slurmctld for MinJobAge = 600 s and the
# run uses squeue; finished jobs are also written to the job completion log (jobcomp/filetxt).
# No accounts either: the run passes --slurm-no-account. The partition is `local`, set with
# --default-resources over the profile's own defaults (the profile file itself is not edited).
# Needs root (or sudo) for apt-get and the daemons. Debian/Ubuntu: slurm-wlm and munge.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="${SLURM_LOCAL_DIR:-$ROOT/.slurm-local}"
PARTITION="${SLURM_LOCAL_PARTITION:-local}"
PROFILE="${SMOKE_PROFILE:-smoke}"
VENV="${VENV:-$ROOT/.venv}"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
# the daemons, sbatch and the srun inside each job read /etc/slurm/slurm.conf: a link to this cluster's
# (an existing file that is not that link is left alone: the script refuses to run on a real cluster)
CONF="$DIR/slurm.conf"
ETC_CONF=/etc/slurm/slurm.conf

log() { echo "[slurm_local $(date -u +%H:%M:%S)] $*"; }

install() {
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null; then
        return
    fi
    log "installing slurm-wlm and munge"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq slurm-wlm munge >/dev/null
}

write_conf() {
    local host cpus mem
    host="$(hostname -s)"
    cpus="$(nproc)"
    mem=$(( $(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) - 1024 ))  # MiB, 1 GiB left to the OS
    mkdir -p "$DIR/ctld" "$DIR/d" "$DIR/log"
    if [ -e "$ETC_CONF" ] && [ "$(readlink "$ETC_CONF")" != "$CONF" ]; then
        log "error: $ETC_CONF exists and is not this script's: this machine has a SLURM set-up of its own; use that" >&2
        exit 1
    fi
    cat > "$CONF" <<CONF
ClusterName=umcl-local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$DIR/ctld
SlurmdSpoolDir=$DIR/d
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldPort=${SLURM_LOCAL_PORT:-6817}
SlurmdPort=$(( ${SLURM_LOCAL_PORT:-6817} + 1 ))
# no cgroups in a container: track processes by their parent, no task binding
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.log
# finished jobs stay visible to squeue for 10 minutes (the plugin's status command)
MinJobAge=600
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# a job without --mem gets 1 GB per core (not the whole node)
DefMemPerCPU=1000
SchedulerType=sched/backfill
ReturnToService=2
MpiDefault=none
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=$PARTITION Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
}

start() {
    install
    write_conf
    if ! munge -n >/dev/null 2>&1; then  # no munged answering (pgrep would also see a zombie)
        $SUDO mkdir -p /run/munge && $SUDO chown munge:munge /run/munge
        [ -s /etc/munge/munge.key ] || $SUDO /usr/sbin/mungekey --create
        $SUDO runuser -u munge -- /usr/sbin/munged
        echo started > "$DIR/munged.ours"
    fi
    $SUDO mkdir -p "$(dirname "$ETC_CONF")" && $SUDO ln -sfn "$CONF" "$ETC_CONF"
    $SUDO /usr/sbin/slurmctld -c
    $SUDO /usr/sbin/slurmd -c
    for _ in $(seq 30); do
        if sinfo -h -o '%t' 2>/dev/null | grep -qx idle; then
            log "cluster up: $(sinfo -h -o '%P %D nodes %c cpus %m MB %t')"
            return
        fi
        sleep 1
    done
    log "slurmd did not come up; see $DIR/log/"; sinfo || true; exit 1
}

stop() {
    local pid
    for d in slurmd slurmctld; do
        if [ -s "$DIR/$d.pid" ]; then
            pid="$(cat "$DIR/$d.pid")"
            $SUDO kill "$pid" 2>/dev/null || true
            for _ in $(seq 30); do [ -d "/proc/$pid" ] && [ "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" != Z ] || break; sleep 1; done
            rm -f "$DIR/$d.pid"
        fi
    done
    if [ -f "$DIR/munged.ours" ] && [ -s /run/munge/munged.pid ]; then
        $SUDO kill "$(cat /run/munge/munged.pid)" 2>/dev/null || true
        rm -f "$DIR/munged.ours"
    fi
    [ "$(readlink "$ETC_CONF" 2>/dev/null)" != "$CONF" ] || $SUDO rm -f "$ETC_CONF"
    log "cluster stopped"
}

# the profile's default-resources with the partition of this cluster (account: --slurm-no-account)
default_resources() {
    "$VENV/bin/python" - "$ROOT/workflow/profiles/slurm/config.yaml" "$PARTITION" <<'PY'
import sys, yaml
res = yaml.safe_load(open(sys.argv[1]))["default-resources"]
res = {k: v for k, v in res.items() if k != "slurm_account"} | {"slurm_partition": sys.argv[2]}
print(" ".join(f"{k}={v}" for k, v in res.items()))
PY
}

watch_queue() {  # squeue every 30 s, as the plugin sees it
    while sleep 30; do
        echo "--- squeue $(date -u +%H:%M:%S)"
        squeue -h -o '%.8i %.10P %.40j %.8T %.10M %.4C %.6m %R %k' || true  # %k: the plugin's comment, rule_NAME
    done
}

smoke() {
    local started status watcher
    [ ! -f "$DIR/log/jobcomp.log" ] || mv "$DIR/log/jobcomp.log" "$DIR/log/jobcomp.log.old"  # one run per log
    start
    trap stop EXIT
    started=$(date +%s)
    log "snakemake --workflow-profile workflow/profiles/slurm --config profile=$PROFILE (partition $PARTITION)"
    watch_queue & watcher=$!
    # shellcheck disable=SC2046  # one word per resource
    (cd "$ROOT" && PATH="$VENV/bin:$PATH" OMP_NUM_THREADS=1 "$VENV/bin/snakemake" \
        --workflow-profile workflow/profiles/slurm --config profile="$PROFILE" \
        --default-resources $(default_resources) \
        --slurm-no-account --slurm-status-command squeue --slurm-init-seconds-before-status-checks 10 \
        ${SMOKE_ARGS:-}) && status=0 || status=$?
    kill "$watcher" 2>/dev/null || true
    log "snakemake exit status $status after $(( $(date +%s) - started )) s"
    echo "--- job completion log ($DIR/log/jobcomp.log)"
    cat "$DIR/log/jobcomp.log" 2>/dev/null || true
    return "$status"
}

case "${1:-smoke}" in
    start) start ;;
    stop) stop ;;
    smoke) smoke 2>&1 | tee "$DIR.log"; exit "${PIPESTATUS[0]}" ;;
    *) echo "usage: $0 start|stop|smoke" >&2; exit 2 ;;
esac
