#!/bin/sh
# nerve-mpi across two emulated hosts: two network namespaces on this
# machine joined by a veth pair (10.23.0.1 and 10.23.0.2), one rank in
# each, OpenMPI started in the first with an rsh agent that "logs in" to
# the second by entering its namespace, so the ranks' traffic (TCP, the
# only transport allowed) crosses a real link. Both see the same file
# system, as cluster nodes see a shared one. Prints the wall times, the
# bytes that crossed the link, and whether the study is byte for byte the
# single process's. Needs root (ip netns); removes what it made.
#   bench/mpi_veth.sh [N_EXTRACT] [N_STUDY]
set -eu
cd "$(dirname "$0")/.."
n_extract=${1:-10000}
n_study=${2:-2000}
[ "$(id -u)" -eq 0 ] || { echo "mpi_veth: needs root for ip netns" >&2; exit 1; }
make --no-print-directory -s MPI=1 build/nerve build/nerve-mpi
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
tmp=$(mktemp -d)
a=nerve-a-$$ b=nerve-b-$$
cleanup() {
    ip netns del "$a" 2>/dev/null || true
    ip netns del "$b" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add "$a"
ip netns add "$b"
ip link add "va$$" type veth peer name "vb$$"
ip link set "va$$" netns "$a"
ip link set "vb$$" netns "$b"
ip -n "$a" addr add 10.23.0.1/24 dev "va$$"
ip -n "$b" addr add 10.23.0.2/24 dev "vb$$"
for ns in "$a" "$b"; do ip -n "$ns" link set lo up; done
ip -n "$a" link set "va$$" up
ip -n "$b" link set "vb$$" up
cat >"$tmp/rsh" <<AGENT
#!/bin/sh
host=\$1
shift
case \$host in
    10.23.0.1) exec ip netns exec $a sh -c "\$*" ;;
    10.23.0.2) exec ip netns exec $b sh -c "\$*" ;;
esac
echo "mpi_veth: unknown host \$host" >&2
exit 1
AGENT
chmod +x "$tmp/rsh"
printf '10.23.0.1 slots=1\n10.23.0.2 slots=1\n' >"$tmp/hosts"
model=$(ls "$HOME"/.cache/nerve/cnn-small-*.onnx 2>/dev/null | grep -v ckpt | head -n 1 || true)
[ -n "$model" ] || model=tests/fixtures/nn/small_cnn.onnx
echo "machine: $(nproc --all) cores, load $(cut -d' ' -f1-3 /proc/loadavg); commit $(git rev-parse --short HEAD)"

link_bytes() { ip -n "$a" -s link show "va$$" | awk '/RX:/ { getline; rx = $1 } /TX:/ { getline; tx = $1 } END { print rx + tx }'; }
two_hosts() {   # two_hosts NAME ARGS...: nerve-mpi with a rank on each host
    name=$1
    shift
    before=$(link_bytes)
    t0=$(date +%s.%N)
    ip netns exec "$a" mpirun --allow-run-as-root --hostfile "$tmp/hosts" -n 2 --mca plm_rsh_agent "$tmp/rsh" \
        --mca btl tcp,self --mca btl_tcp_if_include 10.23.0.0/24 --mca oob_tcp_if_include 10.23.0.0/24 \
        -x OMP_NUM_THREADS -x OPENBLAS_NUM_THREADS build/nerve-mpi "$@" >/dev/null
    t1=$(date +%s.%N)
    awk -v n="$name" -v t="$(awk -v a="$t1" -v b="$t0" 'BEGIN { print a - b }')" -v by="$(($(link_bytes) - before))" \
        'BEGIN { printf "%-34s %8.2f s wall, %8d bytes over the link\n", n, t, by }'
}
same() {   # same A B: byte for byte, the manifests and the t-SNE index's paths aside
    diff -r -x manifest.json -x .lock -x index.tsne.json "$1" "$2" >/dev/null &&
        { [ ! -f "$1/embed/index.tsne.json" ] ||
            [ "$(sed "s|$1/||" "$1/embed/index.tsne.json")" = "$(sed "s|$2/||" "$2/embed/index.tsne.json")" ]; } &&
        echo "  the same bytes as one process" || echo "  DIFFERS from one process"
}

two_hosts "extract, $n_extract inputs" extract -q -m "$model" -d fashion-mnist:test -n "$n_extract" -o "$tmp/e2"
build/nerve extract -q -t 1 -m "$model" -d fashion-mnist:test -n "$n_extract" -o "$tmp/e1"
same "$tmp/e1" "$tmp/e2"
stages="--stages mean,mapper,ph,embed,sim"
two_hosts "study, $n_study inputs" run -q -m "$model" -n "$n_study" $stages -o "$tmp/s2"
build/nerve run -q -t 1 -m "$model" -n "$n_study" $stages -o "$tmp/s1" >/dev/null
same "$tmp/s1" "$tmp/s2"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
