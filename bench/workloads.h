/* The workloads, in the order each repetition runs them: one line each.
 * WORKLOAD(name) stands for `const struct workload wl_name` in wl_name.c
 * (see bench.c, "Adding a workload"). No include guard: read with
 * WORKLOAD defined to what the reader needs. */
WORKLOAD(uncontended)
WORKLOAD(contended)
WORKLOAD(contended_count)
WORKLOAD(handoff)
WORKLOAD(timedlock)
WORKLOAD(cond)
WORKLOAD(sem)
WORKLOAD(pipe)
WORKLOAD(sysbench)
WORKLOAD(memcached)
WORKLOAD(threads)
WORKLOAD(spawn)
WORKLOAD(pause)
WORKLOAD(forkconn)
